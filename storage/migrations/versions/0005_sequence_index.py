"""SQLite's search index holds the text as a token sequence (`storage.tokenizer.SEQUENCE`).

A SQLite index built with the bag of characters and bigrams is rebuilt here, so an upgraded
store keeps finding what it found without a manual `newsbot reindex`. PostgreSQL keeps the bag.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from storage.derive import index_text
from storage.records import body_text
from storage.tokenizer import BAG, SEQUENCE, IndexScheme

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BATCH = 500


def _reindex(scheme: IndexScheme, built_with: IndexScheme) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    meta = "SELECT value FROM meta WHERE name = 'search.tokenizer'"
    if bind.execute(sa.text(meta)).scalar() != built_with.id:
        return  # nothing indexed yet, or not by the scheme this revision replaces
    op.execute("DELETE FROM article_fts")
    select = sa.text(
        "SELECT id, title, paragraphs, digest FROM articles WHERE id > :last ORDER BY id LIMIT :n"
    )
    insert = sa.text("INSERT INTO article_fts (rowid, title, body) VALUES (:id, :title, :body)")
    last = 0
    while rows := bind.execute(select, {"last": last, "n": BATCH}).all():
        params = []
        for id_, title, paragraphs, digest in rows:
            body = body_text(json.loads(paragraphs) if paragraphs else None, digest)
            index_title, index_body = index_text(title, body, scheme)
            params.append({"id": id_, "title": index_title, "body": index_body})
        bind.execute(insert, params)
        last = rows[-1][0]
    bind.execute(
        sa.text("UPDATE meta SET value = :id WHERE name = 'search.tokenizer'"), {"id": scheme.id}
    )


def upgrade() -> None:
    _reindex(SEQUENCE, built_with=BAG)


def downgrade() -> None:
    _reindex(BAG, built_with=SEQUENCE)

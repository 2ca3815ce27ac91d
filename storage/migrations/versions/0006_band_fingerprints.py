"""Band rows carry the whole fingerprint, so near-duplicate candidates are compared from the
band index alone (see `storage.dedup`); on SQLite the table is clustered by its key.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_SQLITE_TABLE = (
    "CREATE TABLE {name} ("
    " band SMALLINT NOT NULL, value INTEGER NOT NULL,"
    " article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,{extra}"
    " CONSTRAINT pk_article_bands PRIMARY KEY (band, value, article_id)){options}"
)


def _sqlite_rebuild(extra: str, options: str, select: str) -> None:
    op.execute(_SQLITE_TABLE.format(name="article_bands_new", extra=extra, options=options))
    op.execute(f"INSERT INTO article_bands_new {select}")
    op.execute("DROP TABLE article_bands")
    op.execute("ALTER TABLE article_bands_new RENAME TO article_bands")
    op.execute("CREATE INDEX ix_article_bands_article ON article_bands (article_id)")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_rebuild(
            " fingerprint BIGINT NOT NULL,",
            " WITHOUT ROWID",
            "SELECT b.band, b.value, b.article_id, a.fingerprint FROM article_bands b"
            " JOIN articles a ON a.id = b.article_id WHERE a.fingerprint IS NOT NULL",
        )
        return
    op.add_column("article_bands", sa.Column("fingerprint", sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE article_bands b SET fingerprint = a.fingerprint FROM articles a"
        " WHERE a.id = b.article_id"
    )
    op.execute("DELETE FROM article_bands WHERE fingerprint IS NULL")
    op.alter_column("article_bands", "fingerprint", nullable=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_rebuild("", "", "SELECT band, value, article_id FROM article_bands")
        return
    op.drop_column("article_bands", "fingerprint")

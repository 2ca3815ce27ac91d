"""search: the full-text index per backend and the SimHash bands that group stories

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 16:45:00

SQLite gets an FTS5 table `article_fts(title, body)` whose rowid is `articles.id`; it holds our
own pre-segmented tokens, space-joined, and the `ascii` tokenizer only splits on ASCII spaces and
punctuation, so every CJK token stays whole. PostgreSQL gets `article_fts(article_id, document)`
with a weighted `tsvector` built from the same tokens and a GIN index, and
`article_fts_matches(query, newest)`: the ids of the matching articles, newest first, found
through the GIN index only. Left to itself the planner tests `@@` row by row in a scan when a
word is common, unpacking every stored tsvector (seconds at 100,000 posts), while the index
answers without touching them; the function's own settings rule the scans out.
`article_bands` maps each 16-bit band of an article's SimHash to the article, so near-duplicates
are found by equality on any band.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("CREATE VIRTUAL TABLE article_fts USING fts5(title, body, tokenize = 'ascii')")
    else:
        op.execute(
            "CREATE TABLE article_fts ("
            " article_id BIGINT PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,"
            " document tsvector NOT NULL)"
        )
        op.execute("CREATE INDEX ix_article_fts_document ON article_fts USING gin (document)")
        op.execute(
            "CREATE FUNCTION article_fts_matches(query tsquery, newest integer)"
            " RETURNS TABLE (article_id bigint) LANGUAGE sql STABLE"
            " SET enable_seqscan = off SET enable_indexscan = off"
            " AS $$ SELECT f.article_id FROM article_fts f WHERE f.document @@ query"
            " ORDER BY f.article_id DESC LIMIT newest $$"
        )
    op.create_table(
        "article_bands",
        sa.Column("band", sa.SmallInteger(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column(
            "article_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.ForeignKey("articles.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("band", "value", "article_id", name="pk_article_bands"),
    )
    op.create_index("ix_article_bands_article", "article_bands", ["article_id"])


def downgrade() -> None:
    op.drop_index("ix_article_bands_article", table_name="article_bands")
    op.drop_table("article_bands")
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP FUNCTION article_fts_matches(tsquery, integer)")
    op.execute("DROP TABLE article_fts")

"""search: the full-text index per backend and the SimHash bands that group stories

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 16:45:00

SQLite gets an FTS5 table `article_fts(title, body)` whose rowid is `articles.id`; it holds our
own pre-segmented tokens, space-joined, and the `ascii` tokenizer only splits on ASCII spaces and
punctuation, so every CJK token stays whole. PostgreSQL gets `article_fts(article_id, document)`
with a weighted `tsvector` built from the same tokens and a GIN index.
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
    op.execute("DROP TABLE article_fts")

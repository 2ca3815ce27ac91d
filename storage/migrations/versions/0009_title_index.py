"""PostgreSQL indexes the title's lexemes on their own, so search can take every title match as a
candidate without re-reading documents: a GIN index over `ts_filter(document, '{a}')` (the title
is weight A in `document`) and `article_title_matches(query, newest)`, the twin of
`article_fts_matches`. Built from the stored documents, so an existing store is re-indexed by the
upgrade itself. SQLite needs nothing: FTS5 filters a query by column (`title : (…)`).

Revision ID: 0009
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute(
        "CREATE INDEX ix_article_fts_title ON article_fts USING gin (ts_filter(document, '{a}'))"
    )
    op.execute(
        "CREATE FUNCTION article_title_matches(query tsquery, newest integer)"
        " RETURNS TABLE (article_id bigint) LANGUAGE sql STABLE"
        " SET enable_seqscan = off SET enable_indexscan = off"
        " AS $$ SELECT f.article_id FROM article_fts f"
        " WHERE ts_filter(f.document, '{a}') @@ query"
        " ORDER BY f.article_id DESC LIMIT newest $$"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute("DROP FUNCTION article_title_matches(tsquery, integer)")
    op.execute("DROP INDEX ix_article_fts_title")

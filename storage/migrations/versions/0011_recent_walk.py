"""PostgreSQL finds the newest matches of a common word by walking the newest rows: the GIN index
hands back every match before the newest are picked, so at 1M posts `中国` (690,000 matches)
took 250 ms, while testing `document @@ query` on the newest rows finds its 150 newest in about
210 rows (6 µs a row). `article_fts_walk(query, first, stop, newest)` and
`article_title_walk(…)`, the twins of `article_fts_matches` and `article_title_matches`: the
newest `newest` (NULL: all) matches with `first <= article_id < stop`, read newest first through
the primary key only, so a walk costs its range, however many or few match. SQLite needs
nothing: FTS5 reads a range of rowids through its own index.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

WALKS = {"article_fts_walk": "f.document", "article_title_walk": "ts_filter(f.document, '{a}')"}


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for name, document in WALKS.items():
        op.execute(
            f"CREATE FUNCTION {name}(query tsquery, first bigint, stop bigint, newest integer)"
            " RETURNS TABLE (article_id bigint) LANGUAGE sql STABLE"
            " SET enable_seqscan = off SET enable_bitmapscan = off"
            " AS $$ SELECT f.article_id FROM article_fts f"
            f" WHERE f.article_id >= first AND f.article_id < stop AND {document} @@ query"
            " ORDER BY f.article_id DESC LIMIT newest $$"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for name in WALKS:
        op.execute(f"DROP FUNCTION {name}(tsquery, bigint, bigint, integer)")

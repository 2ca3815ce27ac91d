"""PostgreSQL reads a range of the newest ids through the GIN index: `article_fts_range(query,
first, stop, newest)` and `article_title_range(…)`, the newest `newest` (NULL: all) matches with
`first <= article_id < stop`, found by AND-ing the index's bitmap of every match with the primary
key's bitmap of the range, so only the matches in the range are read from the table. The whole
index (`article_fts_matches`) reads every match from the table before the newest are picked: at
100k posts `股份` (11,678 matches) took 10.8 ms that way, 2.8 ms for its newest 150 in the newest
4,000 ids. Inside the function the plan is made for any arguments, which estimates both bitmaps
small and AND-s them; without index scans it cannot walk the range instead (migration 0011 walks).

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

RANGES = {"article_fts_range": "f.document", "article_title_range": "ts_filter(f.document, '{a}')"}


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for name, document in RANGES.items():
        op.execute(
            f"CREATE FUNCTION {name}(query tsquery, first bigint, stop bigint, newest integer)"
            " RETURNS TABLE (article_id bigint) LANGUAGE sql STABLE"
            " SET enable_seqscan = off SET enable_indexscan = off"
            " AS $$ SELECT f.article_id FROM article_fts f"
            f" WHERE f.article_id >= first AND f.article_id < stop AND {document} @@ query"
            " ORDER BY f.article_id DESC LIMIT newest $$"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for name in RANGES:
        op.execute(f"DROP FUNCTION {name}(tsquery, bigint, bigint, integer)")

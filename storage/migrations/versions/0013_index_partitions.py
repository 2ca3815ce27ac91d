"""PostgreSQL splits `article_fts` into two hash partitions by article id, `article_fts_0` and
`article_fts_1`, each with its own GIN indexes, so that a first load builds them on two
connections at once (`storage.pg_bulk.build_search_indexes`): PostgreSQL 15 builds a GIN index in
one process, and at 100k posts that build was about 40 % of a first load. The document index of
100k posts took 104-155 s in one build, its two halves 54-74 s built side by side.

The functions of migrations 0002, 0009, 0011 and 0012 read `article_fts` by name and need no
change: each partition answers through its own indexes.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# As `storage.pg_bulk` names them today, written out: a migration must not change with it.
PARTITIONS = ("article_fts_0", "article_fts_1")
INDEXES = {
    "ix_article_fts_document": "gin (document)",
    "ix_article_fts_title": "gin (ts_filter(document, '{a}'))",
}
COLUMNS = (
    " article_id BIGINT NOT NULL REFERENCES articles (id) ON DELETE CASCADE,"
    " document tsvector NOT NULL"
)


def _move_aside() -> None:
    op.execute("ALTER TABLE article_fts RENAME TO article_fts_old")
    op.execute("ALTER INDEX article_fts_pkey RENAME TO article_fts_old_pkey")
    for name in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")


def _index() -> None:
    for name, method in INDEXES.items():
        for partition in PARTITIONS:
            part = name.replace("article_fts", partition)
            op.execute(f"CREATE INDEX {part} ON {partition} USING {method}")
        op.execute(f"CREATE INDEX {name} ON article_fts USING {method}")  # attaches those


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    _move_aside()
    op.execute(
        f"CREATE TABLE article_fts ({COLUMNS}, PRIMARY KEY (article_id))"
        " PARTITION BY HASH (article_id)"
    )
    for remainder, partition in enumerate(PARTITIONS):
        op.execute(
            f"CREATE TABLE {partition} PARTITION OF article_fts"
            f" FOR VALUES WITH (MODULUS {len(PARTITIONS)}, REMAINDER {remainder})"
        )
    op.execute("INSERT INTO article_fts SELECT article_id, document FROM article_fts_old")
    op.execute("DROP TABLE article_fts_old")
    _index()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    _move_aside()
    op.execute(f"CREATE TABLE article_fts ({COLUMNS}, PRIMARY KEY (article_id))")
    op.execute("INSERT INTO article_fts SELECT article_id, document FROM article_fts_old")
    op.execute("DROP TABLE article_fts_old")
    for name, method in INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON article_fts USING {method}")

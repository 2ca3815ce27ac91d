"""PostgreSQL splits `article_fts` by ranges of article ids, 65,536 ids a partition
(`article_fts_p0` holds ids 0-65,535, `article_fts_p1` the next, …), instead of migration 0013's
two hash partitions.

A range of the newest ids read through the index (migration 0012) AND-s the index's lists of
every match with the range, so each list is read whole first. For most words that is cheap, but a
lone Han character is a prefix (`'猪':*`) whose lists are those of every bigram it starts: at 1M
posts `猪` (50,666 matches) took 20-23 ms that way with the lists cached, 37 ms without, against
2 ms at 100k. Split by id range, a read of the newest ids only opens the newest partitions' lists
(PostgreSQL prunes the others when the function starts), so it costs the same at any size. Writes
of new articles go only into the newest partition, whose indexes stay small. A first load still
builds the partitions' indexes side by side (`storage.pg_bulk.build_search_indexes`).

`article_fts_cover(last)` makes every partition missing up to the one for id `last`; the writers
call it before they write documents. It creates a plain table and attaches it, which locks the
parent only against other DDL (CREATE TABLE … PARTITION OF would lock out every search until the
writer commits); the partitioned indexes add their parts to it. Two writers that reach a new
partition at once: the second waits for the first's commit and takes its table.

The functions of migrations 0002, 0009, 0011 and 0012 read `article_fts` by name and need no
change.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# As `storage.pg_bulk` has them today, written out: a migration must not change with it.
PARTITION_IDS = 65536
HASH_PARTITIONS = ("article_fts_0", "article_fts_1")
INDEXES = {
    "ix_article_fts_document": "gin (document)",
    "ix_article_fts_title": "gin (ts_filter(document, '{a}'))",
}
COLUMNS = (
    " article_id BIGINT NOT NULL REFERENCES articles (id) ON DELETE CASCADE,"
    " document tsvector NOT NULL"
)
COVER = f"""
CREATE FUNCTION article_fts_cover(last bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    -- the partitions go beside the table, whatever the search path holds
    parent text := (SELECT quote_ident(n.nspname) FROM pg_class c
                    JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE c.oid = 'article_fts'::regclass);
    part bigint;
BEGIN
    IF to_regclass(format('%s.article_fts_p%s', parent, last / {PARTITION_IDS})) IS NOT NULL THEN
        RETURN;
    END IF;
    FOR part IN 0 .. last / {PARTITION_IDS} LOOP
        CONTINUE WHEN to_regclass(format('%s.article_fts_p%s', parent, part)) IS NOT NULL;
        BEGIN
            EXECUTE format('CREATE TABLE %s.article_fts_p%s (LIKE %s.article_fts)',
                parent, part, parent);
            EXECUTE format(
                'ALTER TABLE %s.article_fts ATTACH PARTITION %s.article_fts_p%s'
                ' FOR VALUES FROM (%s) TO (%s)',
                parent, parent, part, part * {PARTITION_IDS}, (part + 1) * {PARTITION_IDS});
        EXCEPTION WHEN duplicate_table OR unique_violation THEN
            NULL;  -- another writer made it and committed while this one waited
        END;
    END LOOP;
END $$
"""


def _move_aside() -> None:
    op.execute("ALTER TABLE article_fts RENAME TO article_fts_old")
    op.execute("ALTER INDEX article_fts_pkey RENAME TO article_fts_old_pkey")
    for name in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")


def _fill_and_index() -> None:
    op.execute("INSERT INTO article_fts SELECT article_id, document FROM article_fts_old")
    op.execute("DROP TABLE article_fts_old")
    for name, method in INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON article_fts USING {method}")  # and on each partition


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    _move_aside()
    op.execute(
        f"CREATE TABLE article_fts ({COLUMNS}, PRIMARY KEY (article_id))"
        " PARTITION BY RANGE (article_id)"
    )
    op.execute(COVER)
    op.execute("SELECT article_fts_cover(COALESCE((SELECT max(id) FROM articles), 0))")
    _fill_and_index()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    _move_aside()
    op.execute("DROP FUNCTION article_fts_cover(bigint)")
    op.execute(
        f"CREATE TABLE article_fts ({COLUMNS}, PRIMARY KEY (article_id))"
        " PARTITION BY HASH (article_id)"
    )
    for remainder, partition in enumerate(HASH_PARTITIONS):
        op.execute(
            f"CREATE TABLE {partition} PARTITION OF article_fts"
            f" FOR VALUES WITH (MODULUS {len(HASH_PARTITIONS)}, REMAINDER {remainder})"
        )
    _fill_and_index()

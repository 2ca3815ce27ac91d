"""PostgreSQL writes of an ingest batch by COPY: rows go in binary through asyncpg's
`copy_records_to_table`, into the table itself when they are plain inserts (band rows, tag links)
or into a temporary staging table, from which one set-based `INSERT … SELECT … ON CONFLICT` upserts
them (articles, index documents). One COPY replaces an executemany's round trip, parse and plan
per row; the upsert is one statement for the whole batch.

The staging tables live in the connection's own temporary schema and empty themselves at commit
(`ON COMMIT DELETE ROWS`), so concurrent writers never see each other's rows.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import TableClause

from storage.models import Article

STAGE_ARTICLES = "newsbot_stage_articles"
STAGE_INDEX = "newsbot_stage_index"
PARTITION_IDS = 65_536
"""Article ids a partition of `article_fts` holds (migration 0014, whose `article_fts_cover`
makes them as ids reach them): partition `article_fts_p{n}` holds ids from `n * PARTITION_IDS`."""
INGESTED_TABLES = (
    "articles",
    "article_tags",
    "article_bands",
    "tags",
    "categories",
    "term_buckets",
)
_PARTITIONS = (
    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
    " WHERE i.inhparent = 'article_fts'::regclass"
    " ORDER BY substring(c.relname FROM '[0-9]+$')::bigint"
)

# Every column of `articles`, in staging order; paragraphs travel as JSON text.
ARTICLE_COLUMNS = tuple(cast(Table, Article.__table__).columns.keys())
# What an update of a stored article leaves alone: its id and when it was first stored.
_KEPT_ON_UPDATE = {"id", "created_at"}

_CREATE_STAGES = (
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {STAGE_ARTICLES} ("
    " id bigint, key text, title text, published_at timestamptz, category_id integer,"
    " source text, digest text, paragraphs text, summary text, summary_version integer,"
    " share_url text, file text, content_hash text, story_id bigint, fingerprint bigint,"
    " created_at timestamptz, updated_at timestamptz) ON COMMIT DELETE ROWS;"
    f" CREATE TEMPORARY TABLE IF NOT EXISTS {STAGE_INDEX} ("
    " article_id bigint, title text, body text) ON COMMIT DELETE ROWS"
)

_UPSERT_ARTICLES = (
    f"INSERT INTO articles ({', '.join(ARTICLE_COLUMNS)})"
    f" SELECT {', '.join('paragraphs::json' if c == 'paragraphs' else c for c in ARTICLE_COLUMNS)}"
    f" FROM {STAGE_ARTICLES}"
    " ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in ARTICLE_COLUMNS if c not in _KEPT_ON_UPDATE)
)

_UPSERT_INDEX = (
    "INSERT INTO article_fts (article_id, document)"
    " SELECT article_id, setweight(to_tsvector('simple', title), 'A')"
    " || setweight(to_tsvector('simple', body), 'B')"
    f" FROM {STAGE_INDEX}"
    " ON CONFLICT (article_id) DO UPDATE SET document = EXCLUDED.document"
)


# The GIN indexes of the search (migrations 0002 and 0009), which an ingest into an empty store
# builds once after the data instead of entry by entry (`defer_search_indexes`). Each is an index
# of the partitioned `article_fts` over its partitions' own (migration 0014).
SEARCH_INDEXES = {
    "ix_article_fts_document": "gin (document)",
    "ix_article_fts_title": "gin (ts_filter(document, '{a}'))",
}


def partition_index(index: str, partition: str) -> str:
    """The name of a search index's part on one partition: `ix_article_fts_p0_document`."""
    return index.replace("article_fts", partition, 1)


PENDING_LIST_LIMIT = "64MB"
"""How far an ingest lets a search index's pending list grow (see `clean_pending_lists`):
room for `CLEAN_EVERY` documents (1,000 synthetic posts took 17.5 MB), so that it is not
flushed in the middle of a batch."""
CLEAN_EVERY = 1000
_unmerged_here = 0


def unmerged_documents() -> int:
    """Documents this process has written into the search indexes' pending lists since it last
    merged them (`clean_pending_lists`); another process's are not seen.

    While a pending list is long, the planner prices a scan of the GIN index past a filter of
    every row in an id range, which reads each row's whole document: at 100k posts, with 100 to
    1,000 documents pending, `上海`'s newest 150 in 10,000 ids took 150-250 ms that way against
    10 ms through the index. So `storage.search` reads no range through the index meanwhile.
    A write that rolled back is still counted, until the next merge: the count only steers
    which plan a search asks for, never what it finds."""
    return _unmerged_here


INDEX_BUILD_MEMORY = "256MB"
"""`maintenance_work_mem` of a build: a GIN build sorts its entries in this much memory, and
`build_search_indexes` runs `INDEX_BUILDS` at once (512 MB in all)."""
INDEX_BUILDS = 2
"""Partitions whose indexes a first load builds at once, each in a session of its own:
PostgreSQL 15 builds one GIN index in one process, and the document index was about 40 % of a
first load of 100k posts (104-155 s; its two halves 54-74 s built side by side)."""


async def driver_connection(session: AsyncSession) -> Any:
    """The asyncpg connection under the session, inside the session's transaction.

    SQLAlchemy's asyncpg adapter begins the driver's transaction at its own first statement,
    so a session that has run none gets one here: else what is sent on the driver's connection
    commits statement by statement (and `SET LOCAL` does nothing)."""
    connection = await session.connection()
    raw: Any = (await connection.get_raw_connection()).driver_connection
    if not raw.is_in_transaction():
        await connection.exec_driver_sql("SELECT 1")
    return raw


async def _stage_and_upsert(
    session: AsyncSession, stage: str, records: Sequence[Any], columns: Sequence[str], upsert: str
) -> None:
    conn = await driver_connection(session)
    await conn.execute(_CREATE_STAGES)
    await conn.copy_records_to_table(stage, records=records, columns=columns)
    await conn.execute(upsert)


async def index_partitions(session: AsyncSession) -> list[str]:
    """The partitions of `article_fts`, in the order of their ids."""
    conn = await driver_connection(session)
    return [row["relname"] for row in await conn.fetch(_PARTITIONS)]


async def cover_ids(session: AsyncSession, last: int) -> None:
    """Make the partitions of `article_fts` missing up to the one for id `last` (migration
    0014's `article_fts_cover`): a document whose partition is missing cannot be written."""
    conn = await driver_connection(session)
    await conn.execute("SELECT article_fts_cover($1)", last)


async def new_article_ids(session: AsyncSession, count: int) -> list[int]:
    """Ids for articles about to be inserted, taken from the table's own sequence, so rows
    that point at them (story, bands, tags, index) are complete before the first write."""
    if count <= 0:
        return []
    conn = await driver_connection(session)
    rows = await conn.fetch(
        "SELECT nextval(pg_get_serial_sequence('articles', 'id')) AS id"
        " FROM generate_series(1, $1)",
        count,
    )
    return sorted(int(row["id"]) for row in rows)


async def upsert_articles(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Insert or update these article rows (every column of `ARTICLE_COLUMNS`) by id."""
    if not rows:
        return
    records = [
        tuple(
            json.dumps(row[c]) if c == "paragraphs" else row[c]  # as SQLAlchemy's JSON writes it
            for c in ARTICLE_COLUMNS
        )
        for row in rows
    ]
    await _stage_and_upsert(session, STAGE_ARTICLES, records, ARTICLE_COLUMNS, _UPSERT_ARTICLES)


async def upsert_index(session: AsyncSession, rows: Sequence[tuple[int, str, str]]) -> None:
    """Index documents `(article_id, title tokens, body tokens)`, replacing older ones."""
    if not rows:
        return
    global _unmerged_here
    conn = await driver_connection(session)
    await conn.execute(f"SET LOCAL gin_pending_list_limit = '{PENDING_LIST_LIMIT}'")
    _unmerged_here += len(rows)
    await cover_ids(session, max(row[0] for row in rows))
    await _stage_and_upsert(
        session, STAGE_INDEX, rows, ("article_id", "title", "body"), _UPSERT_INDEX
    )


async def clean_pending_lists(session: AsyncSession) -> None:
    """Move what an ingest wrote from each search index's pending list into the index proper.

    A GIN index takes new entries into a pending list (`fastupdate`), which every search reads
    whole, and which by default empties itself past 4 MB (some 220 documents here) inside
    whichever insert crosses it, or when autovacuum reaches it. The merge costs per distinct
    lexeme, not per document, so larger merges cost less a document: at 100k posts, merging
    every 50 documents took 5.4 ms a document, the 4 MB flush about 5, merging
    1,000 at once 1.7 (plus 2.0 to insert them). An ingest therefore lets the lists grow to
    `PENDING_LIST_LIMIT` (`upsert_index`) and has them merged every `CLEAN_EVERY` documents
    and when it ends (`bot.ingest.pipeline.Ingestor`); searches meanwhile read no id range
    through the index (`unmerged_documents`). Only an index's owner may merge it; another role
    leaves it to the 4 MB flush."""
    global _unmerged_here
    conn = await driver_connection(session)
    await conn.execute(
        "SELECT gin_clean_pending_list(c.oid::regclass) FROM unnest($1::text[]) AS n(name)"
        " JOIN pg_inherits i ON i.inhparent = to_regclass(n.name)"
        " JOIN pg_class c ON c.oid = i.inhrelid WHERE pg_has_role(c.relowner, 'USAGE')",
        list(SEARCH_INDEXES),
    )
    _unmerged_here = 0


async def copy_rows(
    session: AsyncSession, table: TableClause, rows: Sequence[dict[str, Any]]
) -> None:
    """Plain inserts of these rows into `table`, by COPY."""
    if not rows:
        return
    columns = list(rows[0])
    conn = await driver_connection(session)
    await conn.copy_records_to_table(
        table.name, records=[tuple(row[c] for c in columns) for row in rows], columns=columns
    )


async def defer_search_indexes(session: AsyncSession) -> bool:
    """Drop the search's GIN indexes when the index is empty (a first load), so the load writes
    plain rows and `build_search_indexes` builds each index once from all of them, several
    times faster than adding every document's lexemes to it one by one. Returns whether they
    were dropped. Searches meanwhile scan the table: the store has nothing to find yet."""
    conn = await driver_connection(session)
    if await conn.fetchval("SELECT EXISTS (SELECT FROM article_fts)"):
        return False
    partitions = await index_partitions(session)
    parts = [partition_index(i, p) for i in SEARCH_INDEXES for p in partitions]
    # the parts too: a build that stopped before the whole index was made leaves them alone
    await conn.execute(f"DROP INDEX IF EXISTS {', '.join([*SEARCH_INDEXES, *parts])}")
    return True


async def build_search_indexes(new_session: Callable[[], AsyncSession]) -> None:
    """Build the search's GIN indexes that are missing: after a first load, or after a load
    that stopped before building them (every ingest calls this, so the next one repairs it).

    The partitions' parts are built `INDEX_BUILDS` at once (the full partitions before the
    newest), each builder in a session of its own; then the index of the whole table is made,
    which attaches those parts instead of building them again."""
    async with new_session() as session:
        conn = await driver_connection(session)
        missing = [
            name
            for name in SEARCH_INDEXES
            if await conn.fetchval("SELECT to_regclass($1)", name) is None
        ]
        if not missing:  # CREATE INDEX locks out writers even when it exists: only when needed
            return
        waiting = await index_partitions(session)

    async def builder() -> None:
        while waiting:
            partition = waiting.pop(0)
            async with new_session() as session, session.begin():
                conn = await driver_connection(session)
                await conn.execute(f"SET LOCAL maintenance_work_mem = '{INDEX_BUILD_MEMORY}'")
                for name in missing:
                    await conn.execute(
                        f"CREATE INDEX IF NOT EXISTS {partition_index(name, partition)}"
                        f" ON {partition} USING {SEARCH_INDEXES[name]}"
                    )

    async with asyncio.TaskGroup() as builders:
        for _ in range(min(INDEX_BUILDS, len(waiting))):
            builders.create_task(builder())
    async with new_session() as session, session.begin():
        conn = await driver_connection(session)
        for name in missing:
            await conn.execute(
                f"CREATE INDEX IF NOT EXISTS {name} ON article_fts USING {SEARCH_INDEXES[name]}"
            )


async def analyze_if_grown(session: AsyncSession, added: int) -> None:
    """ANALYZE the store's tables after a load that grew it past autovacuum's own rule (50 rows
    plus a tenth), or into tables never analyzed: without statistics PostgreSQL planned the
    story-rule counts of `/tags` and a category's total as nested loops, 11-19 s at 100k posts
    against 0.1-0.3 s after ANALYZE, and autovacuum may be off or run much later."""
    conn = await driver_connection(session)
    rows = await conn.fetchval("SELECT reltuples FROM pg_class WHERE oid = 'articles'::regclass")
    if rows is None or rows < 0 or added > 50 + rows / 10:
        # the partitions, not article_fts: ANALYZE of the parent would sample them twice
        tables = [*INGESTED_TABLES, *await index_partitions(session)]
        await conn.execute(f"ANALYZE {', '.join(tables)}")

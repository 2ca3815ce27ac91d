"""A first load into an empty store: PostgreSQL builds its search indexes once, after the rows,
and search finds what was loaded; a load that stopped before that is repaired by the next."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from store_support import good_posts, records_of

from bot.ingest.pipeline import BATCH_SIZE, Ingestor, IngestReport
from storage import pg_bulk
from storage.db import Database
from storage.pg_bulk import INDEX_BUILDS, PARTITION_IDS, SEARCH_INDEXES, partition_index
from storage.search import rebuild_index, search
from storage.tokenizer import tokenize_document

GIN = (
    "SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema()"
    " AND indexname IN ('ix_article_fts_document', 'ix_article_fts_title')"
)


async def search_indexes(database: Database) -> int:
    async with database.session() as session:
        return int(await session.scalar(text(GIN)) or 0)


async def load(database: Database, folder: Path, count: int, *, finish: bool) -> IngestReport:
    report = IngestReport()
    ingestor = Ingestor(database, report)
    for number, record in enumerate(records_of(folder)[:count]):
        await ingestor.add(replace(record, title=f"{record.title} 猪肉价格{number}"))
    await ingestor.flush()
    if finish:
        await ingestor.finish()
    return report


async def assert_finds_numbered(database: Database, *numbers: int) -> None:
    """Each post `load` numbered is the one answer to a search for its number."""
    async with database.session() as session:
        for number in numbers:
            [hit] = await search(session, f"猪肉价格{number}", limit=10)
            assert hit.article.title.endswith(f"猪肉价格{number}")


async def test_a_first_load_builds_the_search_index_after_its_rows(
    database: Database, tmp_path: Path
) -> None:
    good_posts(tmp_path, BATCH_SIZE + 5)
    if database.dialect == "postgresql":
        assert await search_indexes(database) == 2
    report = await load(database, tmp_path, BATCH_SIZE + 5, finish=False)
    assert report.added == BATCH_SIZE + 5
    if database.dialect == "postgresql":
        assert await search_indexes(database) == 0  # deferred: the load is not finished
    await Ingestor(database, IngestReport()).finish()
    if database.dialect == "postgresql":
        assert await search_indexes(database) == 2
    async with database.session() as session:
        hits = await search(session, "猪", limit=1000)
        assert len(hits) > 100 and all("猪" in hit.article.title for hit in hits)
    await assert_finds_numbered(database, 0, 7, BATCH_SIZE + 4)


async def test_a_store_with_rows_keeps_its_index_while_loading(
    database: Database, tmp_path: Path
) -> None:
    good_posts(tmp_path, BATCH_SIZE + 5)
    await load(database, tmp_path, 3, finish=True)
    await load(database, tmp_path, BATCH_SIZE + 5, finish=False)
    if database.dialect == "postgresql":
        assert await search_indexes(database) == 2


async def test_migration_0010_keeps_a_version_1_bag_without_reindexing(
    database: Database, tmp_path: Path
) -> None:
    """A store indexed by bag version 1 (every character, jieba's words) answers version 2's
    queries, prefix matches included: the migration only renames its tokenizer entry."""
    from alembic import command

    from storage.db import _alembic_config
    from storage.models import MetaEntry
    from storage.search import TOKENIZER_META
    from storage.tokenizer import BAG, SEQUENCE

    good_posts(tmp_path, 3)
    await load(database, tmp_path, 3, finish=True)
    async with database.engine.begin() as conn:
        await conn.run_sync(lambda sync: command.downgrade(_alembic_config(sync), "0009"))
    async with database.session() as session, session.begin():
        entry = await session.get(MetaEntry, TOKENIZER_META)
        assert entry is not None
        if database.dialect == "postgresql":
            entry.value = "jieba-han-bigram 1"
            await session.execute(
                text(
                    "UPDATE article_fts f SET document = setweight(to_tsvector('simple',"
                    " :title), 'A') FROM articles a WHERE a.id = f.article_id"
                ),
                {"title": " ".join(tokenize_document("好消息 猪肉价格"))},
            )
    await database.upgrade()
    async with database.session() as session:
        entry = await session.get(MetaEntry, TOKENIZER_META)
        assert entry is not None
        assert entry.value == (BAG.id if database.dialect == "postgresql" else SEQUENCE.id)
        assert len(await search(session, "猪", limit=10)) >= 1
        assert len(await search(session, "肉价", limit=10)) >= 1


async def _planned_rows(database: Database) -> float:
    async with database.session() as session:
        found = await session.scalar(
            text("SELECT reltuples FROM pg_class WHERE oid = 'articles'::regclass")
        )
    return float(found)


async def test_a_large_load_leaves_postgresql_statistics_and_a_small_one_costs_none(
    database: Database, tmp_path: Path
) -> None:
    """Without statistics, PostgreSQL planned `/tags`' count as nested loops: 19 s at 100k
    posts against 0.12 s after ANALYZE (autovacuum may be off, or come much later)."""
    if database.dialect != "postgresql":
        pytest.skip("SQLite plans these counts the same without statistics")
    assert await _planned_rows(database) < 0  # a new store: never analyzed
    (tmp_path / "first").mkdir()
    good_posts(tmp_path / "first", 60)
    first = records_of(tmp_path / "first")
    report = IngestReport()
    ingestor = Ingestor(database, report, batch_size=20)
    for record in first:
        await ingestor.add(record)
    await ingestor.flush()
    await ingestor.finish()
    assert report.added == 60
    assert await _planned_rows(database) == 60

    report = IngestReport()
    ingestor = Ingestor(database, report)
    (tmp_path / "next").mkdir()
    good_posts(tmp_path / "next", 3)
    for n, record in enumerate(records_of(tmp_path / "next")):
        await ingestor.add(replace(record, key=f"next-{n}"))
    await ingestor.flush()
    await ingestor.finish()
    assert report.added == 3
    assert await _planned_rows(database) == 60  # 3 new rows are no reason to ANALYZE


async def test_an_ingest_leaves_nothing_pending_in_the_search_indexes(
    database: Database, tmp_path: Path
) -> None:
    """A search reads a GIN index's pending list whole, and the insert that fills it pays for
    the whole flush: an ingest merges what it wrote into the index proper by its end."""
    if database.dialect != "postgresql":
        pytest.skip("pending lists are PostgreSQL's GIN indexes'")
    good_posts(tmp_path, 30)
    await load(database, tmp_path, 10, finish=True)
    report = await load(database, tmp_path, 30, finish=True)
    assert report.added == 20
    parts = [part for index in SEARCH_INDEXES for part in await attached_parts(database, index)]
    assert parts
    async with database.session() as session:
        for part in parts:
            cleaned = await session.scalar(
                text("SELECT gin_clean_pending_list(CAST(:index AS regclass))"), {"index": part}
            )
            assert cleaned == 0, f"{part} had {cleaned} pending pages"
        [hit] = await search(session, "猪肉价格29", limit=10)
        assert hit.article.title.endswith("猪肉价格29")


PARTS = (
    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
    " WHERE i.inhparent = to_regclass(:index) ORDER BY c.relname"
)


async def attached_parts(database: Database, index: str) -> list[str]:
    async with database.session() as session:
        return list(await session.scalars(text(PARTS), {"index": index}))


async def partitions(database: Database) -> list[str]:
    async with database.session() as session:
        return await pg_bulk.index_partitions(session)


async def next_ids_from(database: Database, first: int) -> None:
    """The next articles get ids from `first` on."""
    async with database.session() as session, session.begin():
        await session.execute(
            text("SELECT setval(pg_get_serial_sequence('articles', 'id'), :last)"),
            {"last": first - 1},
        )


async def test_the_search_indexes_are_built_a_partition_a_session_side_by_side(
    postgres_database: Database, tmp_path: Path
) -> None:
    """PostgreSQL 15 builds a GIN index in one process: the partitions' parts of an index are
    built `INDEX_BUILDS` at once, each builder in a session of its own, and the whole index then
    attaches them."""
    good_posts(tmp_path, BATCH_SIZE + 5)
    await next_ids_from(postgres_database, 2 * PARTITION_IDS - 3)  # the load spans p1 and p2
    await load(postgres_database, tmp_path, BATCH_SIZE + 5, finish=False)
    assert await search_indexes(postgres_database) == 0
    built = await partitions(postgres_database)
    assert built == ["article_fts_p0", "article_fts_p1", "article_fts_p2"]
    open_now = 0
    most_open = 0

    class CountedSession:
        """A session of the store that counts how many are open at once."""

        def __init__(self) -> None:
            self.session = postgres_database.session()

        async def __aenter__(self) -> AsyncSession:
            nonlocal open_now, most_open
            open_now += 1
            most_open = max(most_open, open_now)
            return await self.session.__aenter__()

        async def __aexit__(self, *exc: object) -> None:
            nonlocal open_now
            open_now -= 1
            await self.session.__aexit__(*exc)

        def begin(self) -> Any:
            return self.session.begin()

    await pg_bulk.build_search_indexes(CountedSession)  # type: ignore[arg-type]
    assert INDEX_BUILDS == 2 and most_open == INDEX_BUILDS
    for index in SEARCH_INDEXES:
        expected = sorted(partition_index(index, p) for p in built)
        assert await attached_parts(postgres_database, index) == expected
    await assert_finds_numbered(postgres_database, 0, 2, 3, BATCH_SIZE + 4)


async def test_a_build_that_stopped_after_some_parts_is_finished_by_the_next_ingest(
    postgres_database: Database, tmp_path: Path
) -> None:
    good_posts(tmp_path, BATCH_SIZE + 5)
    await next_ids_from(postgres_database, PARTITION_IDS - 3)
    await load(postgres_database, tmp_path, BATCH_SIZE + 5, finish=False)
    index = "ix_article_fts_document"
    stopped_at = partition_index(index, "article_fts_p0")
    async with postgres_database.session() as session, session.begin():
        await session.execute(
            text(f"CREATE INDEX {stopped_at} ON article_fts_p0 USING gin (document)")
        )
    await Ingestor(postgres_database, IngestReport()).finish()
    assert await search_indexes(postgres_database) == 2
    assert await attached_parts(postgres_database, index) == [
        stopped_at,
        partition_index(index, "article_fts_p1"),
    ]
    await assert_finds_numbered(postgres_database, 0, 3, BATCH_SIZE + 4)


async def test_a_first_load_drops_parts_a_stopped_build_left(
    postgres_database: Database, tmp_path: Path
) -> None:
    """Parts left on an empty store would take the next first load's documents one by one."""
    async with postgres_database.session() as session, session.begin():
        await session.execute(text("DROP INDEX ix_article_fts_document"))
        await session.execute(
            text(
                f"CREATE INDEX {partition_index('ix_article_fts_document', 'article_fts_p0')}"
                " ON article_fts_p0 USING gin (document)"
            )
        )
    good_posts(tmp_path, BATCH_SIZE + 5)
    await load(postgres_database, tmp_path, BATCH_SIZE + 5, finish=False)
    async with postgres_database.session() as session:
        left = await session.scalar(
            text(
                "SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema()"
                " AND tablename LIKE 'article_fts%' AND indexdef LIKE '%gin%'"
            )
        )
    assert left == 0


async def test_migrations_0014_and_0013_partition_a_stored_index_and_take_it_back(
    postgres_database: Database, tmp_path: Path
) -> None:
    """0014 splits the index by id ranges, 0013 by hash, 0012 keeps one table; each way the
    same documents answer the same searches."""
    from alembic import command

    from storage.db import _alembic_config

    async def layout() -> str:
        async with postgres_database.session() as session:
            return str(
                await session.scalar(
                    text(
                        "SELECT COALESCE((SELECT partstrat::text FROM pg_partitioned_table"
                        " WHERE partrelid = 'article_fts'::regclass), 'one table')"
                    )
                )
            )

    async def answers() -> list[int]:
        async with postgres_database.session() as session:
            assert await session.scalar(text("SELECT count(*) FROM article_fts")) == 6
            return [
                hit.article.id
                for number in range(6)
                for hit in await search(session, f"猪肉价格{number}", limit=10)
            ]

    async def downgrade(revision: str) -> None:
        async with postgres_database.engine.begin() as conn:
            await conn.run_sync(lambda sync: command.downgrade(_alembic_config(sync), revision))

    good_posts(tmp_path, 6)
    await next_ids_from(postgres_database, PARTITION_IDS - 3)
    await load(postgres_database, tmp_path, 6, finish=True)
    assert await layout() == "r"
    assert await partitions(postgres_database) == ["article_fts_p0", "article_fts_p1"]
    found = await answers()
    assert found == list(range(PARTITION_IDS - 3, PARTITION_IDS + 3))
    await downgrade("0013")
    assert await layout() == "h"
    assert await answers() == found
    await downgrade("0012")
    assert await layout() == "one table"
    assert await answers() == found
    await postgres_database.upgrade()
    assert await layout() == "r"
    assert await partitions(postgres_database) == ["article_fts_p0", "article_fts_p1"]
    for index in SEARCH_INDEXES:
        assert len(await attached_parts(postgres_database, index)) == 2
    assert await answers() == found


async def test_writes_past_the_last_partition_make_the_next_one(
    postgres_database: Database, tmp_path: Path
) -> None:
    """Documents are written into a new partition the moment ids reach it, through the bot's
    ingest and through a plain write alike; its indexes come with it."""
    good_posts(tmp_path, 8)
    await load(postgres_database, tmp_path, 2, finish=True)
    assert await partitions(postgres_database) == ["article_fts_p0"]
    await next_ids_from(postgres_database, 3 * PARTITION_IDS - 1)
    report = IngestReport()
    ingestor = Ingestor(postgres_database, report)
    for number, record in enumerate(records_of(tmp_path)[2:5], start=2):
        await ingestor.add(replace(record, title=f"{record.title} 猪肉价格{number}"))
    await ingestor.flush()
    await ingestor.finish()
    assert report.added == 3
    assert await partitions(postgres_database) == [f"article_fts_p{n}" for n in range(4)]
    for index in SEARCH_INDEXES:
        assert len(await attached_parts(postgres_database, index)) == 4
    await assert_finds_numbered(postgres_database, 0, 1, 2, 3, 4)
    async with postgres_database.session() as session, session.begin():
        await session.execute(text("DROP TABLE article_fts_p3"))  # and ids 2 and 3's documents
    async with postgres_database.session() as session, session.begin():
        assert await rebuild_index(session) == 5  # through `TsvectorBackend.write`
    assert await partitions(postgres_database) == [f"article_fts_p{n}" for n in range(4)]
    await assert_finds_numbered(postgres_database, 0, 1, 2, 3, 4)


async def test_two_writers_that_reach_a_new_partition_at_once_both_write(
    postgres_database: Database,
) -> None:
    """The second waits for the first's commit, then writes into the partition it made."""

    async def cover(session: AsyncSession, last: int) -> None:
        async with session.begin():
            await pg_bulk.cover_ids(session, last)

    async with postgres_database.session() as first, postgres_database.session() as second:
        async with first.begin():
            await pg_bulk.cover_ids(first, PARTITION_IDS)
            waiting = asyncio.create_task(cover(second, PARTITION_IDS + 5))
            await asyncio.sleep(0.5)
            assert not waiting.done()  # held by the first's new table
        await waiting
    assert await partitions(postgres_database) == ["article_fts_p0", "article_fts_p1"]


async def test_what_the_driver_connection_runs_rolls_back_with_the_session(
    postgres_database: Database,
) -> None:
    """SQLAlchemy's adapter begins the driver's transaction only at its own first statement;
    `driver_connection` must not hand out a connection that commits each statement."""
    async with postgres_database.session() as session:
        await session.begin()
        conn = await pg_bulk.driver_connection(session)
        await conn.execute("CREATE TABLE left_behind (id integer)")
        await session.rollback()
        assert await session.scalar(text("SELECT to_regclass('left_behind')")) is None

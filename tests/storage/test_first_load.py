"""A first load into an empty store: PostgreSQL builds its search indexes once, after the rows,
and search finds what was loaded; a load that stopped before that is repaired by the next."""

from __future__ import annotations

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
from storage.pg_bulk import INDEX_PARTITIONS, SEARCH_INDEXES, partition_index
from storage.search import search
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
    async with database.session() as session:
        for index in SEARCH_INDEXES:
            for partition in INDEX_PARTITIONS:
                part = partition_index(index, partition)
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


async def test_the_search_indexes_are_built_a_partition_a_session_side_by_side(
    postgres_database: Database, tmp_path: Path
) -> None:
    """PostgreSQL 15 builds a GIN index in one process: each partition's part of an index is
    built in a session of its own, at once, and the whole index then attaches them."""
    good_posts(tmp_path, BATCH_SIZE + 5)
    await load(postgres_database, tmp_path, BATCH_SIZE + 5, finish=False)
    assert await search_indexes(postgres_database) == 0
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
    assert most_open == len(INDEX_PARTITIONS)
    for index in SEARCH_INDEXES:
        expected = sorted(partition_index(index, p) for p in INDEX_PARTITIONS)
        assert await attached_parts(postgres_database, index) == expected
    await assert_finds_numbered(postgres_database, BATCH_SIZE + 4)


async def test_a_build_that_stopped_after_some_parts_is_finished_by_the_next_ingest(
    postgres_database: Database, tmp_path: Path
) -> None:
    good_posts(tmp_path, BATCH_SIZE + 5)
    await load(postgres_database, tmp_path, BATCH_SIZE + 5, finish=False)
    index = "ix_article_fts_document"
    stopped_at = partition_index(index, INDEX_PARTITIONS[0])
    async with postgres_database.session() as session, session.begin():
        await session.execute(
            text(f"CREATE INDEX {stopped_at} ON {INDEX_PARTITIONS[0]} USING gin (document)")
        )
    await Ingestor(postgres_database, IngestReport()).finish()
    assert await search_indexes(postgres_database) == 2
    assert stopped_at in await attached_parts(postgres_database, index)
    assert len(await attached_parts(postgres_database, index)) == len(INDEX_PARTITIONS)


async def test_a_first_load_drops_parts_a_stopped_build_left(
    postgres_database: Database, tmp_path: Path
) -> None:
    """Parts left on an empty store would take the next first load's documents one by one."""
    async with postgres_database.session() as session, session.begin():
        await session.execute(text("DROP INDEX ix_article_fts_document"))
        await session.execute(
            text(
                f"CREATE INDEX {partition_index('ix_article_fts_document', 'article_fts_1')}"
                " ON article_fts_1 USING gin (document)"
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


async def test_migration_0013_partitions_a_stored_index_and_0012_takes_it_back(
    postgres_database: Database, tmp_path: Path
) -> None:
    from alembic import command

    from storage.db import _alembic_config

    async def kind() -> str:
        async with postgres_database.session() as session:
            return str(
                await session.scalar(
                    text("SELECT relkind::text FROM pg_class WHERE oid = 'article_fts'::regclass")
                )
            )

    good_posts(tmp_path, 5)
    await load(postgres_database, tmp_path, 5, finish=True)
    assert await kind() == "p"
    async with postgres_database.engine.begin() as conn:
        await conn.run_sync(lambda sync: command.downgrade(_alembic_config(sync), "0012"))
    assert await kind() == "r"
    async with postgres_database.session() as session:
        [hit] = await search(session, "猪肉价格4", limit=10)
    await postgres_database.upgrade()
    assert await kind() == "p"
    for index in SEARCH_INDEXES:
        assert len(await attached_parts(postgres_database, index)) == len(INDEX_PARTITIONS)
    async with postgres_database.session() as session:
        assert await session.scalar(text("SELECT count(*) FROM article_fts")) == 5
        [again] = await search(session, "猪肉价格4", limit=10)
    assert again.article.id == hit.article.id

"""A first load into an empty store: PostgreSQL builds its search indexes once, after the rows,
and search finds what was loaded; a load that stopped before that is repaired by the next."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sqlalchemy import text
from test_never_lose import good_posts, records_of

from bot.ingest.pipeline import BATCH_SIZE, Ingestor, IngestReport
from storage.db import Database
from storage.search import search

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
        for number in (0, 7, BATCH_SIZE + 4):
            [hit] = await search(session, f"猪肉价格{number}", limit=10)
            assert hit.article.title.endswith(f"猪肉价格{number}")


async def test_a_store_with_rows_keeps_its_index_while_loading(
    database: Database, tmp_path: Path
) -> None:
    good_posts(tmp_path, BATCH_SIZE + 5)
    await load(database, tmp_path, 3, finish=True)
    await load(database, tmp_path, BATCH_SIZE + 5, finish=False)
    if database.dialect == "postgresql":
        assert await search_indexes(database) == 2

"""Page totals are remembered briefly and forgotten when an ingest stores something new."""

from __future__ import annotations

from store_support import record, upsert

from bot.services.articles import ListTotals
from storage.repository import ArticleRepository


async def test_a_total_is_counted_once_then_recounted_after_clear(sqlite_database):
    totals = ListTotals(ttl=60)
    await upsert(sqlite_database, [record(1), record(2)])
    async with sqlite_database.session() as session:
        assert await totals.get(sqlite_database, ArticleRepository(session), None, None) == 2
    await upsert(sqlite_database, [record(3)])
    async with sqlite_database.session() as session:
        repo = ArticleRepository(session)
        assert await totals.get(sqlite_database, repo, None, None) == 2
        assert await totals.get(sqlite_database, repo, "kejiribao", None) == 3
        totals.clear()
        assert await totals.get(sqlite_database, repo, None, None) == 3


async def test_an_expired_total_is_recounted(sqlite_database):
    totals = ListTotals(ttl=0)
    await upsert(sqlite_database, [record(1)])
    async with sqlite_database.session() as session:
        repo = ArticleRepository(session)
        assert await totals.get(sqlite_database, repo, None, None) == 1
        await upsert(sqlite_database, [record(2)])
        assert await totals.get(sqlite_database, repo, None, None) == 2

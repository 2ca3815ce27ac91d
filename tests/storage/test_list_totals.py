"""Counts are remembered briefly and forgotten when an ingest stores something new."""

from __future__ import annotations

from functools import partial

from store_support import record, upsert

from bot.services import browse
from bot.services.articles import COUNTS, Remembered
from storage.repository import ArticleRepository


async def test_a_total_is_counted_once_then_recounted_after_clear(sqlite_database):
    totals = Remembered(ttl=60)
    await upsert(sqlite_database, [record(1), record(2)])
    async with sqlite_database.session() as session:
        repo = ArticleRepository(session)
        assert await totals.get(("all",), repo.count) == 2
    await upsert(sqlite_database, [record(3)])
    async with sqlite_database.session() as session:
        repo = ArticleRepository(session)
        assert await totals.get(("all",), repo.count) == 2
        assert await totals.get(("kejiribao",), partial(repo.count, category="kejiribao")) == 3
        totals.clear()
        assert await totals.get(("all",), repo.count) == 3


async def test_an_expired_total_is_recounted(sqlite_database):
    totals = Remembered(ttl=0)
    await upsert(sqlite_database, [record(1)])
    async with sqlite_database.session() as session:
        repo = ArticleRepository(session)
        assert await totals.get(("all",), repo.count) == 1
        await upsert(sqlite_database, [record(2)])
        assert await totals.get(("all",), repo.count) == 2


async def test_category_and_tag_counts_are_remembered_until_news_is_stored(database):
    """`/categories` and `/tags` count every story of the store: once, not on every ask."""
    COUNTS.clear()
    await upsert(database, [record(1)])
    first = await browse.categories(database)
    first_tags = await browse.tags(database)
    await upsert(database, [record(2)])
    assert await browse.categories(database) == first
    assert await browse.tags(database) == first_tags
    COUNTS.clear()
    await browse.count_again(database)
    again = await browse.categories(database)
    assert [(e.name, e.count) for e in again.entries] != [(e.name, e.count) for e in first.entries]

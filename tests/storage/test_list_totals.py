"""Counts are remembered briefly and forgotten when an ingest stores something new."""

from __future__ import annotations

import asyncio
from functools import partial

from store_support import record, upsert

from bot.services import browse
from bot.services.articles import COUNTS, Remembered, list_page
from bot.services.replies import PageQuery
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


async def test_an_expired_total_is_served_at_once_and_recounted_beside(sqlite_database):
    totals = Remembered(ttl=0)
    await upsert(sqlite_database, [record(1)])
    async with sqlite_database.session() as session:
        repo = ArticleRepository(session)
        assert await totals.get(("all",), repo.count) == 1
        await upsert(sqlite_database, [record(2)])
        assert await totals.get(("all",), repo.count) == 1  # no reply waits for the recount
        await asyncio.sleep(0.2)
        assert await totals.get(("all",), repo.count) == 2


async def test_askers_of_a_missing_count_share_one_count_and_an_expiry_one_recount():
    totals = Remembered(ttl=60)
    release = asyncio.Event()
    runs = 0

    async def slow_count() -> int:
        nonlocal runs
        runs += 1
        await release.wait()
        return runs

    askers = [asyncio.create_task(totals.get(("tags",), slow_count)) for _ in range(20)]
    await asyncio.sleep(0.05)
    release.set()
    assert await asyncio.gather(*askers) == [1] * 20
    assert runs == 1

    release.clear()
    totals.expire()
    assert [await totals.get(("tags",), slow_count) for _ in range(20)] == [1] * 20
    await asyncio.sleep(0.05)
    assert runs == 2  # twenty asks after the expiry started one recount, none waited for it
    release.set()
    await asyncio.sleep(0.05)
    assert await totals.get(("tags",), slow_count) == 2


async def test_a_failed_recount_keeps_the_old_count_and_is_logged(caplog):
    totals = Remembered(ttl=0)
    answers: list[int | Exception] = [7, RuntimeError("database is down"), 8]

    async def count() -> int:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert await totals.get(("all",), count) == 7
    assert await totals.get(("all",), count) == 7
    await asyncio.sleep(0.05)
    assert "database is down" in caplog.text
    assert await totals.get(("all",), count) == 7
    await asyncio.sleep(0.05)
    assert await totals.get(("all",), count) == 8


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


async def test_a_list_waits_a_little_for_a_count_never_made_then_shows_it_next_time():
    totals = Remembered(ttl=60)
    release = asyncio.Event()

    async def slow_count() -> int:
        await release.wait()
        return 42

    assert await totals.get(("emnews",), slow_count, wait=0.05) is None
    release.set()
    await asyncio.sleep(0.05)
    assert await totals.get(("emnews",), slow_count, wait=0.05) == 42


async def test_a_category_list_takes_its_total_from_the_categories_count(database, monkeypatch):
    COUNTS.clear()
    await upsert(database, [record(1), record(2)])
    [entry] = (await browse.categories(database)).entries

    async def no_count(*args, **kwargs):
        raise AssertionError("counted again")

    monkeypatch.setattr(ArticleRepository, "count", no_count)
    listing = await list_page(database, PageQuery("category", limit=5, category=entry.name))
    assert listing.total == entry.count == 2

"""The bot's services on both backends (SQLite and the real PostgreSQL), over the sample posts
that ship in bot/demo: plain arguments in, reply models out."""

from __future__ import annotations

import asyncio
import time

from store_support import DEMO_DIR, GROUP, PRIVATE

from bot.render.keyboards import CallbackStore, OpenArticle, OpenMenu, parse_callback
from bot.services import admin, articles, browse, search
from bot.services.actions import reply_for_action
from bot.services.replies import (
    ArticleDetail,
    ArticleList,
    CountEntry,
    CountList,
    Help,
    Notice,
    PageQuery,
    Stats,
)
from bot.settings import load_settings
from storage.db import Database


async def test_latest_lists_newest_first_with_pages(demo_store: Database) -> None:
    reply = await articles.latest_command(demo_store, [], PRIVATE)
    assert isinstance(reply, ArticleList)
    assert [i.published_at for i in reply.items] == sorted(
        (i.published_at for i in reply.items), reverse=True
    )
    assert (len(reply.items), reply.total, reply.has_more) == (5, 7, True)
    assert reply.items[0].title.startswith("示例：新能源汽车冬季续航实测")
    assert set(reply.items[0].tags) == {"科技新闻", "汽车"}

    second = await search.open_page(demo_store, PageQuery("latest", offset=5), PRIVATE)
    assert isinstance(second, ArticleList)
    assert (len(second.items), second.has_more) == (2, False)

    in_group = await articles.latest_command(demo_store, ["keji"], GROUP)
    assert isinstance(in_group, ArticleList)
    assert {i.category for i in in_group.items} == {"keji"} and len(in_group.items) == 3


async def test_search_finds_mixed_terms_with_bold_spans(demo_store: Database) -> None:
    reply = await search.search_command(demo_store, ["5G"], PRIVATE)
    assert isinstance(reply, ArticleList)
    first = reply.items[0]
    assert first.key == "NW202611230800000004"
    assert first.highlights
    assert {first.text[a:b].lower() for a, b in first.highlights} == {"5g"}
    empty = await search.search_command(demo_store, ["不存在的词语组合"], PRIVATE)
    assert empty == Notice("empty_search", {"query": "不存在的词语组合"})


async def test_show_gives_the_longer_summary_and_link(demo_store: Database) -> None:
    reply = await articles.show_command(demo_store, ["202611251900000006"], PRIVATE)
    assert isinstance(reply, ArticleDetail)
    assert reply.item.share_url == "http://news.example.org/share/NW202611251900000006"
    assert "骑楼" in reply.item.text and "居民怎么说" not in reply.item.text
    assert reply.item.source == "示例晚报"


async def test_counts_and_buttons(demo_store: Database) -> None:
    categories = await browse.categories(demo_store)
    assert categories == CountList(
        "categories",
        tuple(CountEntry(name, n) for name, n in [("keji", 3), ("caijing", 2), ("chengshi", 2)]),
    )
    tags = await browse.tags(demo_store)
    assert [(e.name, e.count) for e in tags.entries][:1] == [("科技新闻", 3)]

    store = CallbackStore()
    shown = await reply_for_action(
        demo_store, parse_callback("a:NW202611200900000001", store), PRIVATE
    )
    assert isinstance(shown, ArticleDetail)
    assert isinstance(await reply_for_action(demo_store, OpenMenu("help"), PRIVATE), Help)
    missing = await reply_for_action(demo_store, OpenArticle("gone"), PRIVATE)
    assert missing == Notice("not_found", {"key": "gone"})


async def test_inline_search_pages(demo_store: Database) -> None:
    newest = await search.inline_search(demo_store, "", "")
    assert (len(newest.results), newest.next_offset) == (7, "")
    found = await search.inline_search(demo_store, "老街", "")
    assert found.results[0].item.key == "NW202611251900000006"
    assert (await search.inline_search(demo_store, "老街", "junk")).results == found.results


async def test_stats_count_the_store_and_its_size(demo_store: Database) -> None:
    stats = await admin.stats(demo_store, started_monotonic=time.monotonic() - 61)
    assert isinstance(stats, Stats)
    assert (stats.articles, stats.stories, stats.categories) == (7, 7, 3)
    assert stats.backend == demo_store.dialect
    assert stats.database_bytes is not None and stats.database_bytes > 0
    assert stats.uptime_seconds >= 61
    assert stats.last_ingest is not None and stats.last_ingest.summary.added == 7


async def test_one_ingest_at_a_time(demo_store: Database) -> None:
    gate = admin.IngestGate()
    settings = load_settings()
    first = gate.run(demo_store, [str(DEMO_DIR)], settings)
    second = gate.run(demo_store, [str(DEMO_DIR)], settings)
    results = await asyncio.gather(first, second)
    assert sorted(r is None for r in results) == [False, True]
    done = next(r for r in results if r is not None)
    assert (done.added, done.updated, done.unchanged) == (0, 0, 7)

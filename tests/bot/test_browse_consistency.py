"""Browsing the corpus store on both backends: counts, listings and filters follow one story rule,
so every category and tag that `/categories` and `/tags` offer opens the stories they count."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from bot.render.html import RenderContext, list_header
from bot.render.keyboards import CallbackStore
from bot.services import browse
from bot.services.articles import COUNTS, list_page, open_category, open_tag
from bot.services.replies import ArticleList, PageQuery, Viewer
from bot.services.search import search_page
from storage.db import Database
from storage.repository import ArticleRepository

in_module_loop = pytest.mark.asyncio(loop_scope="module")
EVERYTHING = 1000
SECOND_COPIES = {
    "cailianshe": "财联社新闻",
    "quanshangzhongguo": "券商中国新闻",
    "yangxingwangzhan": "央行网站新闻",
    "zhongguozhengquanbao": "中国证券报新闻",
}


async def _listing(db: Database, **filters: str) -> ArticleList:
    kind = "category" if "category" in filters else "tag" if "tag" in filters else "latest"
    return await list_page(db, PageQuery(kind, limit=EVERYTHING, **filters))  # type: ignore[arg-type]


def _header_total(listing: ArticleList) -> str:
    context = RenderContext("zh", ZoneInfo("Asia/Shanghai"), CallbackStore())
    return list_header(listing, context).split("\n")[1]


@in_module_loop
async def test_every_category_opens_the_stories_it_counts(corpus_db: Database) -> None:
    COUNTS.clear()
    counted = await browse.categories(corpus_db)
    assert {entry.name for entry in counted.entries} >= set(SECOND_COPIES)
    for entry in counted.entries:
        listing = await _listing(corpus_db, category=entry.name)
        assert entry.count > 0
        assert listing.total == entry.count == len(listing.items), entry
        assert f"共 {entry.count} 条" in _header_total(listing)
        assert all(item.category == entry.name for item in listing.items)
        assert len({item.key for item in listing.items}) == len(listing.items)
        opened = await open_category(corpus_db, entry.name, Viewer())
        assert isinstance(opened, ArticleList) and opened.items


@in_module_loop
async def test_every_tag_opens_the_stories_it_counts(corpus_db: Database) -> None:
    COUNTS.clear()
    async with corpus_db.session() as session:
        counts = await ArticleRepository(session).tag_counts()
    shown = await browse.tags(corpus_db)
    assert [(e.name, e.count) for e in shown.entries] == counts[: len(shown.entries)]
    assert {name for name, _ in counts} >= set(SECOND_COPIES.values())
    for name, count in counts:
        listing = await _listing(corpus_db, tag=name)
        assert listing.total == count == len(listing.items), name
        assert f"共 {count} 条" in _header_total(listing)
        assert all(name in item.tags for item in listing.items)
        opened = await open_tag(corpus_db, name, Viewer())
        assert isinstance(opened, ArticleList) and opened.items


@in_module_loop
async def test_a_feed_of_second_copies_shows_them_naming_the_first_feed(
    corpus_db: Database,
) -> None:
    COUNTS.clear()
    for category, tag in SECOND_COPIES.items():
        by_category = await _listing(corpus_db, category=category)
        by_tag = await _listing(corpus_db, tag=tag)
        assert [i.key for i in by_category.items] == [i.key for i in by_tag.items]
        for item in by_category.items:
            assert item.key.startswith("NW")
            assert "emnews" in item.other_sources
        # the same stories, shown once, in the unfiltered list under their emnews copy
        everything = await _listing(corpus_db)
        keys = {i.key for i in everything.items}
        assert all(i.key not in keys and i.key[2:] in keys for i in by_category.items)


@in_module_loop
async def test_the_whole_list_counts_stories_as_the_store_does(corpus_db: Database) -> None:
    COUNTS.clear()
    everything = await _listing(corpus_db)
    async with corpus_db.session() as session:
        stats = await ArticleRepository(session).stats()
    assert everything.total == stats.stories == len(everything.items)
    counted = await browse.categories(corpus_db)
    emnews = next(e for e in counted.entries if e.name == "emnews")
    assert (await _listing(corpus_db, category="emnews")).total == emnews.count


@in_module_loop
async def test_a_tag_filtered_search_and_the_tag_list_agree(corpus_db: Database) -> None:
    COUNTS.clear()
    searched = await search_page(
        corpus_db, PageQuery("search", limit=10, query="央行", tag="央行网站新闻")
    )
    listed = await _listing(corpus_db, tag="央行网站新闻")
    assert [i.key for i in searched.items] == ["NW202205302396506117"]
    assert {i.key for i in searched.items} <= {i.key for i in listed.items}

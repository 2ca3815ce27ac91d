"""Newest-first lists (all, by category, by tag) and single articles, as reply models."""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any, TypeVar, cast, overload

from bot.services.replies import (
    ArticleDetail,
    ArticleItem,
    ArticleList,
    Notice,
    PageQuery,
    Viewer,
    copied,
)
from bot.services.text import clean_query, longer_summary
from bot.summarize import adds_to_title
from storage.db import Database
from storage.records import ArticleView
from storage.repository import ArticleRepository
from storage.views import latest_views, other_sources

PRIVATE_PAGE = 5
GROUP_PAGE = 3
MAX_PAGE = 10
GROUP_MAX_PAGE = 5
MAX_ARGUMENT_CHARS = 100
DETAIL_SUMMARY_CHARS = 300
TOTAL_WAIT = 0.5
"""Seconds a list waits for its first count of "共 N 条"; a list shown sooner has none."""

T = TypeVar("T")
log = logging.getLogger(__name__)


class Remembered:
    """Counts remembered for a minute: totals shown as "共 N 条" and the `/categories` and
    `/tags` counts. Counting every story of a large store takes 0.2-1 s at 100k posts on
    SQLite, more than the reply itself, so no reply waits for a recount: a count older than
    `ttl` (or `expire`d after an ingest stored news) is served while one recount runs beside
    the replies, and callers asking at once for a count not yet made share its one run (at
    100k, twenty users each recounting `/tags` on expiry held every reply for 2-4 s)."""

    def __init__(self, ttl: float = 60.0) -> None:
        self.ttl = ttl
        self._cache: dict[tuple[object, ...], tuple[float, Any]] = {}
        self._running: dict[tuple[object, ...], asyncio.Task[Any]] = {}

    def clear(self) -> None:
        self._cache.clear()
        self._running.clear()

    async def stop(self) -> None:
        """Cancel the counts running on this loop (before the store they read is closed)."""
        loop = asyncio.get_running_loop()
        running = [task for task in self._running.values() if task.get_loop() is loop]
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)

    def put(self, key: tuple[object, ...], value: object) -> None:
        """Remember a count, also one made by another: a category's in `/categories` is its
        list's total."""
        if len(self._cache) > 1000:
            self._cache.clear()
        self._cache[key] = (time.monotonic(), value)

    def expire(self) -> None:
        """Keep serving every count, but count each again on its next ask."""
        self._cache = {key: (-math.inf, value) for key, (_, value) in self._cache.items()}

    @overload
    async def get(self, key: tuple[object, ...], count: Callable[[], Awaitable[T]]) -> T: ...

    @overload
    async def get(
        self, key: tuple[object, ...], count: Callable[[], Awaitable[T]], *, wait: float
    ) -> T | None: ...

    async def get(
        self,
        key: tuple[object, ...],
        count: Callable[[], Awaitable[T]],
        *,
        wait: float | None = None,
    ) -> T | None:
        """The count under `key`; `count` must open its own session, since a recount may
        outlive the caller's. A count never made is waited for, at most `wait` seconds when
        given (then None, and it is remembered for the next ask when done)."""
        cached = self._cache.get(key)
        if cached is None:
            counting = asyncio.shield(self._counting(key, count))
            if wait is None:
                return cast(T, await counting)
            try:
                return cast(T, await asyncio.wait_for(counting, wait))
            except TimeoutError:
                return None
        if time.monotonic() - cached[0] >= self.ttl:
            self._counting(key, count)
        return cast(T, cached[1])

    def _counting(
        self, key: tuple[object, ...], count: Callable[[], Awaitable[T]]
    ) -> asyncio.Task[Any]:
        task = self._running.get(key)
        if task is None or task.get_loop() is not asyncio.get_running_loop():
            task = asyncio.ensure_future(self._count(key, count))
            self._running[key] = task
            task.add_done_callback(partial(self._done, key))
        return task

    async def _count(self, key: tuple[object, ...], count: Callable[[], Awaitable[T]]) -> T:
        value = await count()
        self.put(key, value)
        return value

    def _done(self, key: tuple[object, ...], task: asyncio.Task[Any]) -> None:
        if self._running.get(key) is task:
            del self._running[key]
        if not task.cancelled() and task.exception() is not None:
            log.warning("counting %s failed: %s", key[1:], task.exception())


COUNTS = Remembered()


def page_size(viewer: Viewer, wanted: int | None = None) -> int:
    """Groups get short answers; a private chat may ask for up to ten items."""
    ceiling = GROUP_MAX_PAGE if viewer.in_group else MAX_PAGE
    default = GROUP_PAGE if viewer.in_group else PRIVATE_PAGE
    return max(1, min(wanted or default, ceiling))


def item_from_article(
    article: ArticleView,
    *,
    text: str | None = None,
    highlights: Sequence[tuple[int, int]] = (),
    other_sources: Sequence[str] = (),
) -> ArticleItem:
    # a flash (its body only restates the title) shows no text line, only its mark
    flash = not adds_to_title(article.title, article_summary(article))
    return copied(
        ArticleItem,
        article,
        text="" if flash else article_summary(article) if text is None else text,
        highlights=() if flash else tuple(highlights),
        other_sources=tuple(other_sources),
        flash=flash,
    )


def article_summary(article: ArticleView) -> str:
    """The stored summary; the digest or the first paragraph when there is none."""
    if article.summary:
        return article.summary
    if article.digest:
        return article.digest
    for text, heading in article.paragraphs or []:
        if not heading and text:
            return str(text)
    return ""


async def list_page(db: Database, page: PageQuery) -> ArticleList:
    """One page of a newest-first list; `search` pages go through the search service."""
    articles = await db.read(
        partial(
            latest_views,
            category=page.category,
            tag=page.tag,
            limit=page.limit + 1,
            offset=page.offset,
        ),
        short=True,
    )
    shown = articles[: page.limit]
    # a story from several feeds names the others, as a search hit does: in a feed's list, the
    # note tells that the story is also listed under another feed's copy
    others = await db.read(partial(other_sources, articles=shown), short=True) if shown else {}
    total = await COUNTS.get(
        total_key(db, page.category, page.tag),
        partial(_count, db, category=page.category, tag=page.tag),
        wait=TOTAL_WAIT,
    )
    items = tuple(item_from_article(a, other_sources=others.get(a.id, ())) for a in shown)
    return ArticleList(page=page, items=items, total=total, has_more=len(articles) > page.limit)


def total_key(db: Database, category: str | None, tag: str | None) -> tuple[object, ...]:
    return (db.url, "total", category, tag)


async def _count(db: Database, *, category: str | None, tag: str | None) -> int:
    async with db.read_session() as session:
        return await ArticleRepository(session).count(category=category, tag=tag)


COUNT = re.compile(r"[+-]?[0-9]+")


def _parse_count(word: str) -> int | None:
    """A word of ASCII digits (with a sign) is a count, whatever its size: never a category."""
    if not COUNT.fullmatch(word):
        return None
    return int(word) if len(word) <= 6 else 1_000_000


async def latest_command(db: Database, args: Sequence[str], viewer: Viewer) -> ArticleList | Notice:
    """`/latest [n] [分类|#标签]`: the arguments may come in either order."""
    wanted: int | None = None
    category: str | None = None
    tag: str | None = None
    for word in (w for arg in args for w in clean_query(arg).split()):
        if len(word) > MAX_ARGUMENT_CHARS:
            return Notice("usage_latest")
        count = _parse_count(word)
        if count is not None and wanted is None:
            ceiling = page_size(viewer, 1_000_000)
            if not 1 <= count <= ceiling:
                return Notice("latest_count", {"max": ceiling})
            wanted = count
        elif word.startswith("#") and len(word) > 1 and tag is None and category is None:
            tag = word[1:]
        elif not word.startswith("#") and category is None and tag is None:
            category = word
        else:
            return Notice("usage_latest")
    if category is not None:
        category, tag = await _category_or_tag(db, category)
    page = PageQuery(
        kind="tag" if tag else "category" if category else "latest",
        limit=page_size(viewer, wanted),
        category=category,
        tag=tag,
    )
    return await _non_empty(db, page)


async def _category_or_tag(db: Database, name: str) -> tuple[str | None, str | None]:
    """A bare word is a category slug, or a tag when no category has that name."""
    async with db.session() as session:
        repo = ArticleRepository(session)
        if await repo.category_exists(name) or not await repo.tag_used(name):
            return name, None
    return None, name


async def _non_empty(db: Database, page: PageQuery) -> ArticleList | Notice:
    listing = await list_page(db, page)
    return listing if listing.items or page.offset else empty_notice(page)


def empty_notice(page: PageQuery) -> Notice:
    if page.kind == "search":
        return Notice("empty_search", {"query": (page.query or "")[:60]})
    if page.category:
        return Notice("empty_category", {"category": page.category})
    if page.tag:
        return Notice("empty_tag", {"tag": page.tag})
    return Notice("empty_latest")


async def category_command(
    db: Database, args: Sequence[str], viewer: Viewer
) -> ArticleList | Notice:
    slug = clean_query(" ".join(args))
    if not slug or len(slug) > MAX_ARGUMENT_CHARS:
        return Notice("usage_category")
    return await open_category(db, slug, viewer)


async def open_category(db: Database, slug: str, viewer: Viewer) -> ArticleList | Notice:
    return await _non_empty(db, PageQuery("category", limit=page_size(viewer), category=slug))


async def tag_command(db: Database, args: Sequence[str], viewer: Viewer) -> ArticleList | Notice:
    name = clean_query(" ".join(args)).removeprefix("#")
    if not name or len(name) > MAX_ARGUMENT_CHARS:
        return Notice("usage_tag")
    return await open_tag(db, name, viewer)


async def open_tag(db: Database, name: str, viewer: Viewer) -> ArticleList | Notice:
    return await _non_empty(db, PageQuery("tag", limit=page_size(viewer), tag=name))


async def show_command(db: Database, args: Sequence[str], viewer: Viewer) -> ArticleDetail | Notice:
    key = clean_query(args[0]) if args else ""
    if not key or len(key) > MAX_ARGUMENT_CHARS:
        return Notice("usage_show")
    return await show_article(db, key)


async def show_article(db: Database, key: str) -> ArticleDetail | Notice:
    """The longer summary, the other feeds carrying the same story, and the link."""
    async with db.session() as session:
        repo = ArticleRepository(session)
        article = await repo.view(key)
        if article is None and not key.upper().startswith("NW"):
            article = await repo.view("NW" + key)
        if article is None:
            return Notice("not_found", {"key": key})
        siblings = await repo.story_siblings(article)
        others = tuple(dict.fromkeys(s.source or s.key for s in siblings))
        paragraphs = [(str(t), bool(h)) for t, h in article.paragraphs or []]
        text = longer_summary(article.title, paragraphs, DETAIL_SUMMARY_CHARS, article.digest)
        item = item_from_article(
            article, text=text or article_summary(article), other_sources=others
        )
    return ArticleDetail(item=item)

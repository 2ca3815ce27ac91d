"""Full-text search as reply models: `/search` pages and inline-mode results."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import partial

from bot.services.articles import (
    GROUP_PAGE,
    article_summary,
    empty_notice,
    item_from_article,
    list_page,
    page_size,
)
from bot.services.replies import (
    ArticleItem,
    ArticleList,
    InlinePage,
    InlineResult,
    Notice,
    PageQuery,
    Viewer,
)
from bot.services.text import clean_query, query_snippet
from storage.db import Database
from storage.search import SearchFilters, search_articles

MAX_QUERY_CHARS = 200
SNIPPET_CHARS = 160
GROUP_SNIPPET_CHARS = 80
INLINE_PAGE = 10
MAX_INLINE_OFFSET = 500
MAX_PAGE_OFFSET = 1000
"""The deepest page a ◀ ▶ button may open: button data can be forged, deep offsets cost."""


def split_query(args: Sequence[str]) -> tuple[str, str | None]:
    """`关键词 … [#标签]`: the last `#word` is a tag filter, the rest is the query."""
    words: list[str] = []
    tag: str | None = None
    for word in (w for arg in args for w in clean_query(arg).split()):
        if word.startswith("#") and len(word) > 1:
            tag = word[1:]
        else:
            words.append(word)
    return " ".join(words).strip(), tag


async def search_command(db: Database, args: Sequence[str], viewer: Viewer) -> ArticleList | Notice:
    query, tag = split_query(args)
    if not query:
        return Notice("usage_search")
    if len(query) > MAX_QUERY_CHARS:
        return Notice("query_too_long", {"max": MAX_QUERY_CHARS})
    page = PageQuery("search", limit=page_size(viewer), tag=tag, query=query)
    listing = await search_page(db, page, in_group=viewer.in_group)
    if not listing.items:
        return Notice("empty_search", {"query": query})
    return listing


async def _items(
    db: Database, query: str, *, tag: str | None, limit: int, offset: int, chars: int
) -> tuple[list[ArticleItem], bool]:
    """One page of hits as items with snippets, and whether more hits follow."""
    hits = await db.read(
        partial(
            search_articles,
            query=query,
            filters=SearchFilters(tag=tag),
            limit=limit + 1,
            offset=offset,
        )
    )
    items = []
    for hit in hits[:limit]:
        article = hit.article
        paragraphs = [(str(t), bool(h)) for t, h in article.paragraphs or []]
        text, spans = query_snippet(
            article.title, paragraphs, query, chars, fallback=article_summary(article)
        )
        items.append(
            item_from_article(article, text=text, highlights=spans, other_sources=hit.other_sources)
        )
    return items, len(hits) > limit


async def search_page(db: Database, page: PageQuery, *, in_group: bool = False) -> ArticleList:
    """One page of results; `page.query` must be set (other kinds are plain listings)."""
    if page.kind != "search" or not page.query:
        return await list_page(db, page)
    if len(page.query) > MAX_QUERY_CHARS:
        return ArticleList(page=page, items=(), total=0, has_more=False)
    chars = GROUP_SNIPPET_CHARS if in_group or page.limit <= GROUP_PAGE else SNIPPET_CHARS
    items, more = await _items(
        db, page.query, tag=page.tag, limit=page.limit, offset=page.offset, chars=chars
    )
    return ArticleList(page=page, items=tuple(items), total=None, has_more=more)


async def inline_search(db: Database, query: str, offset: str) -> InlinePage:
    """Inline mode: the newest articles for an empty query, else search hits, ten at a time."""
    start = int(offset) if offset.isascii() and offset.isdigit() and len(offset) <= 4 else 0
    query = clean_query(query)
    if start > MAX_INLINE_OFFSET or len(query) > MAX_QUERY_CHARS:
        return InlinePage(results=(), next_offset="", query=query)
    if query:
        items, more = await _items(
            db, query, tag=None, limit=INLINE_PAGE, offset=start, chars=SNIPPET_CHARS
        )
    else:
        listing = await list_page(db, PageQuery("latest", offset=start, limit=INLINE_PAGE))
        items, more = list(listing.items), listing.has_more
    return InlinePage(
        results=tuple(InlineResult(item) for item in items),
        next_offset=str(start + INLINE_PAGE) if more else "",
        query=query,
    )


async def open_page(db: Database, page: PageQuery, viewer: Viewer) -> ArticleList | Notice:
    """A page behind a ◀ ▶ button; limit, offset and query are re-clamped since button data
    can be forged."""
    page = PageQuery(
        kind=page.kind,
        offset=max(0, min(page.offset, MAX_PAGE_OFFSET)),
        limit=page_size(viewer, page.limit),
        category=clean_query(page.category) if page.category is not None else None,
        tag=clean_query(page.tag) if page.tag is not None else None,
        query=clean_query(page.query) if page.query is not None else None,
    )
    listing = await search_page(db, page, in_group=viewer.in_group)
    if listing.has_more and page.offset + page.limit > MAX_PAGE_OFFSET:
        listing = replace(listing, has_more=False)
    return listing if listing.items else empty_notice(page)

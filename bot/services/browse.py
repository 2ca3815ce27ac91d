"""Categories and tags with their article counts."""

from __future__ import annotations

from bot.services.articles import COUNTS, total_key
from bot.services.replies import CountEntry, CountList
from storage.db import Database
from storage.repository import ArticleRepository

TAGS_SHOWN = 30


async def _category_counts(db: Database) -> list[tuple[str, int]]:
    """Also each category list's total (one story rule: the same count), so that opening a
    category does not count it again."""
    async with db.read_session() as session:
        counts = await ArticleRepository(session).category_counts()
    for name, count in counts:
        COUNTS.put(total_key(db, name, None), count)
    return counts


async def _tag_counts(db: Database, limit: int) -> list[tuple[str, int]]:
    async with db.read_session() as session:
        counts = await ArticleRepository(session).tag_counts(limit)
    for name, count in counts:
        COUNTS.put(total_key(db, None, name), count)
    return counts


async def categories(db: Database) -> CountList:
    counts = await COUNTS.get((db.url, "categories"), lambda: _category_counts(db))
    return CountList("categories", tuple(CountEntry(name, n) for name, n in counts))


async def tags(db: Database, limit: int = TAGS_SHOWN) -> CountList:
    counts = await COUNTS.get((db.url, "tags", limit), lambda: _tag_counts(db, limit))
    return CountList("tags", tuple(CountEntry(name, n) for name, n in counts))


async def count_again(db: Database) -> None:
    """Count categories and tags now (after an ingest stored news), so the next `/tags` or
    `/categories` does not wait for the count."""
    await categories(db)
    await tags(db)

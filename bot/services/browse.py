"""Categories and tags with their article counts."""

from __future__ import annotations

from bot.services.replies import CountEntry, CountList
from storage.db import Database
from storage.repository import ArticleRepository

TAGS_SHOWN = 30


async def categories(db: Database) -> CountList:
    async with db.read_session() as session:
        counts = await ArticleRepository(session).category_counts()
    return CountList("categories", tuple(CountEntry(name, n) for name, n in counts))


async def tags(db: Database, limit: int = TAGS_SHOWN) -> CountList:
    async with db.read_session() as session:
        counts = await ArticleRepository(session).tag_counts(limit)
    return CountList("tags", tuple(CountEntry(name, n) for name, n in counts))

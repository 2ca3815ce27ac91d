"""The terms most over-represented in recent news, with an example article each."""

from __future__ import annotations

from bot.services.replies import Trending, TrendingTerm
from storage.db import Database
from storage.trending import trending_terms as store_trending

TRENDING_HOURS = 24


async def trending_terms(db: Database, *, hours: int = TRENDING_HOURS, limit: int = 10) -> Trending:
    async with db.read_session() as session:
        terms = await store_trending(session, hours=hours, limit=limit)
    return Trending(
        terms=tuple(
            TrendingTerm(t.term, t.count, t.example_key or None, t.example_title or None)
            for t in terms
        ),
        hours=hours,
    )

"""The terms most over-represented in recent news, with an example article each."""

from __future__ import annotations

from bot.services.replies import Trending, TrendingTerm
from storage.db import Database

TRENDING_HOURS = 24


async def trending_terms(db: Database, *, hours: int = TRENDING_HOURS, limit: int = 10) -> Trending:
    from storage.trending import trending  # type: ignore[import-not-found]

    async with db.session() as session:
        terms = await trending(session, hours=hours, limit=limit)
        return Trending(
            terms=tuple(
                TrendingTerm(
                    term=term.term,
                    count=term.count,
                    example_key=term.example.key if term.example else None,
                    example_title=term.example.title if term.example else None,
                )
                for term in terms
            ),
            hours=hours,
        )

"""The terms bursting in recent news, each a search away."""

from __future__ import annotations

from functools import partial

from bot.services.replies import Trending
from storage.db import Database
from storage.trending import trending_query

TRENDING_HOURS = 24


async def trending_terms(db: Database, *, hours: int = TRENDING_HOURS, limit: int = 10) -> Trending:
    """Read from the counts kept at ingest (`storage.trending`): a few indexed reads, off the
    event loop on SQLite."""
    terms = await db.read(partial(trending_query, hours=hours, limit=limit))
    return Trending(terms=tuple(terms), hours=hours)

"""The terms bursting in recent news, each a search away."""

from __future__ import annotations

import weakref
from functools import partial

from bot.services.replies import Trending
from storage.db import Database
from storage.trending import TrendingCache

TRENDING_HOURS = 24

_CACHES: weakref.WeakKeyDictionary[Database, TrendingCache] = weakref.WeakKeyDictionary()


def cache_of(db: Database) -> TrendingCache:
    """One cache per open store, gone with it (a test's store never answers for another)."""
    cache = _CACHES.get(db)
    if cache is None:
        cache = _CACHES[db] = TrendingCache()
    return cache


async def trending_terms(db: Database, *, hours: int = TRENDING_HOURS, limit: int = 10) -> Trending:
    """Read from the counts kept at ingest (`storage.trending`), off the event loop on SQLite;
    while no story was added and the hour is the same, the answer computed before, and
    within its first `fresh_for` seconds without reading the store at all."""
    cache = cache_of(db)
    terms = cache.fresh(hours=hours, limit=limit)
    if terms is None:
        terms = await db.read(partial(cache.query, hours=hours, limit=limit))
    return Trending(terms=tuple(terms), hours=hours)


async def refresh(db: Database) -> None:
    """Compute the answer now (after an ingest), so the next `/trending` does not wait for it
    and shows every story the ingest added."""
    cache_of(db).clear()
    await trending_terms(db)

"""Trending terms: words that many recent stories use, far more often than stories used them
before.

Counting happens at ingest. Every new story (an article that starts a story, so copies of one
news item from other feeds count once) adds its words, from its title and summary, to the
`term_buckets` row of its hour: how many stories of that hour use the word, and the least and
greatest hash of their sources. `/trending` then reads two ranges of that table: the window's
rows (the `hours` up to the newest story, never past now), and, for the window's frequent
words, the rows of a background window `BACKGROUND_FACTOR` times longer just before it.

A word must be in `MIN_STORIES` stories of the window, and its share of window stories must
be `MIN_LIFT` times its share of background stories; such words are ranked by Dunning's
log-likelihood ratio (how surprising the burst is), words from two or more sources first.
Generic news words (公司, 市场) are in as many stories before the window as in it, so they
fall out through the background, not a list; the stop word list only saves counting them.

Only the newest hours are kept: the newest `KEPT_HOURS`, or the hours of the newest
`KEPT_STORIES` stories when they reach further back (a sparse store keeps a background long
enough to tell a burst). Older hours are dropped after each count: `/trending` no longer reads
them, and their rows would only grow the table, whose key (term first) makes every batch write
all over it (at 1M posts, 18.6M rows took 0.8 ms of a post's 1.8 ms of writing). "Newest" is
the newest story counted that is not dated after the coming hour (a post dated years ahead must
not make every real one too old).

The answer depends only on the counts and on the hour of "now", and the counts change only
when a new story is stored, which takes a new article id. `TrendingCache` keeps the answer
keyed on the newest article id and the hour, so a repeated `/trending` is one indexed read
(the newest id) instead of summing thousands of rows.
"""

from __future__ import annotations

import json
import math
import threading
import time
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Connection, Table, delete, func, select, text, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from storage.derive import story_terms
from storage.models import Article, TermBucket
from storage.records import TrendingTerm

BUCKET_SECONDS = 3600
MIN_STORIES = 2
MIN_LIFT = 2.0
BACKGROUND_FACTOR = 7
MIN_BACKGROUND_HOURS = 24 * 7
CANDIDATES = 300
KEPT_HOURS = 30 * 24
"""Four times the span the bot's `/trending` reads: a 24-hour window and its 7-day background."""
KEPT_STORIES = 20_000
ALL_STORIES = ""
"""The term of the row that counts every story of its hour."""

TERM_BUCKETS = cast(Table, TermBucket.__table__)


def source_hash(source: str | None) -> int:
    """A stable 31-bit hash of a source name (the same in every process)."""
    return zlib.crc32((source or "").encode("utf-8")) & 0x7FFFFFFF


def bucket_of(when: datetime) -> int:
    return math.floor(when.timestamp() / BUCKET_SECONDS)


@dataclass(frozen=True, slots=True)
class NewStory:
    """A story just started: its date, its source and its words (`story_terms`)."""

    published_at: datetime
    source: str | None
    terms: Sequence[str]


def _stories_json(stories: Iterable[NewStory]) -> str:
    """Each story as [hour, source hash, [ALL_STORIES, *terms]], for `_COUNT_SQL` to unpack."""
    return json.dumps(
        [
            [bucket_of(s.published_at), source_hash(s.source), [ALL_STORIES, *s.terms]]
            for s in stories
        ],
        ensure_ascii=False,
    )


# The increments of a batch's stories, one per term and hour, added set-based by the database
# from one JSON parameter, in key order (which keeps the upsert's B-tree writes local): counting
# some forty terms per story in Python, then binding each increment, cost more than the writing.
_SUM_OF_STORIES = {
    "sqlite": (
        " SELECT t.value, json_extract(s.value, '$[0]'), count(*),"
        " min(json_extract(s.value, '$[1]')), max(json_extract(s.value, '$[1]'))"
        " FROM json_each(:stories) AS s, json_each(s.value, '$[2]') AS t WHERE true"
    ),
    "postgresql": (
        " SELECT t.term, (s.value ->> 0)::int, count(*), min((s.value ->> 1)::int),"
        " max((s.value ->> 1)::int) FROM json_array_elements(CAST(:stories AS json)) AS s,"
        " json_array_elements_text(s.value -> 2) AS t(term)"
    ),
}
_LEAST = {"sqlite": "min", "postgresql": "least"}
_GREATEST = {"sqlite": "max", "postgresql": "greatest"}


def _count_sql(dialect: str) -> Any:
    return text(
        "INSERT INTO term_buckets (term, bucket, stories, source_lo, source_hi)"
        + _SUM_OF_STORIES[dialect]
        + " GROUP BY 1, 2 ORDER BY 1, 2 ON CONFLICT (term, bucket) DO UPDATE SET"
        " stories = term_buckets.stories + excluded.stories,"
        f" source_lo = {_LEAST[dialect]}(term_buckets.source_lo, excluded.source_lo),"
        f" source_hi = {_GREATEST[dialect]}(term_buckets.source_hi, excluded.source_hi)"
    )


def _coming_hour() -> int:
    return bucket_of(datetime.now(UTC)) + 1


def _counted_newest(connection: Connection | Session) -> int | None:
    """The newest hour counted, up to the coming hour."""
    found = connection.execute(
        select(func.max(TERM_BUCKETS.c.bucket)).where(
            TERM_BUCKETS.c.term == ALL_STORIES, TERM_BUCKETS.c.bucket <= _coming_hour()
        )
    ).scalar()
    return None if found is None else int(found)


def _first_kept_hour(connection: Connection | Session, newest: int) -> int | None:
    """The oldest hour to keep when `newest` is the newest (see the module doc), from the
    hours' story counts (the `ALL_STORIES` rows) summed newest first; None: all of them."""
    summed = (
        select(
            TERM_BUCKETS.c.bucket,
            func.sum(TERM_BUCKETS.c.stories)
            .over(order_by=TERM_BUCKETS.c.bucket.desc())
            .label("stories"),
        )
        .where(TERM_BUCKETS.c.term == ALL_STORIES, TERM_BUCKETS.c.bucket <= newest)
        .subquery()
    )
    reached = connection.execute(
        select(func.max(summed.c.bucket)).where(summed.c.stories >= KEPT_STORIES)
    ).scalar()
    return None if reached is None else min(newest - KEPT_HOURS + 1, int(reached))


def _count_kept(connection: Connection | Session, stories: Sequence[NewStory]) -> None:
    """Count the stories in, then drop the hours that are no longer kept."""
    bind = connection.get_bind() if isinstance(connection, Session) else connection
    connection.execute(_count_sql(bind.dialect.name), {"stories": _stories_json(stories)})
    newest = _counted_newest(connection)
    if newest is None:
        return
    oldest = connection.execute(
        select(func.min(TERM_BUCKETS.c.bucket)).where(TERM_BUCKETS.c.term == ALL_STORIES)
    ).scalar()
    first = _first_kept_hour(connection, newest)
    if first is not None and oldest is not None and oldest < first:
        connection.execute(delete(TERM_BUCKETS).where(TERM_BUCKETS.c.bucket < first))


async def add_stories(session: AsyncSession, stories: Sequence[NewStory]) -> None:
    """Count new stories in, in the caller's transaction."""
    if stories:
        await session.run_sync(_count_kept, stories)


def rebuild_term_counts_sync(connection: Connection | Session, batch_size: int = 2000) -> int:
    """Recount every story of the kept hours from scratch (segmenting each story's first
    article); returns the stories counted. Used by `newsbot reindex` and the migration that
    made the table."""
    connection.execute(delete(TERM_BUCKETS))
    bind = connection.get_bind() if isinstance(connection, Session) else connection
    dialect = bind.dialect.name
    coming = datetime.fromtimestamp((_coming_hour() + 1) * BUCKET_SECONDS, UTC)
    dates = (
        select(Article.published_at)
        .where(Article.id == Article.story_id, Article.published_at < coming)
        .order_by(Article.published_at.desc())
    )
    newest = connection.execute(dates.limit(1)).scalar()
    nth = connection.execute(dates.offset(KEPT_STORIES - 1).limit(1)).scalar()
    kept: ColumnElement[bool] = true()  # fewer stories than `KEPT_STORIES`: all of them
    if newest is not None and nth is not None:
        first = min(bucket_of(newest) - KEPT_HOURS + 1, bucket_of(nth))
        kept = Article.published_at >= datetime.fromtimestamp(first * BUCKET_SECONDS, UTC)
    after, done = 0, 0
    while True:
        batch = connection.execute(
            select(Article.id, Article.title, Article.summary, Article.published_at, Article.source)
            .where(Article.id == Article.story_id, Article.id > after, kept)
            .order_by(Article.id)
            .limit(batch_size)
        ).all()
        if not batch:
            return done
        stories = [
            NewStory(row.published_at, row.source, story_terms(row.title, row.summary or ""))
            for row in batch
        ]
        connection.execute(_count_sql(dialect), {"stories": _stories_json(stories)})
        after, done = batch[-1].id, done + len(batch)


async def rebuild_term_counts(session: AsyncSession) -> int:
    return await session.run_sync(rebuild_term_counts_sync)


def log_likelihood_ratio(k1: int, n1: int, k2: int, n2: int) -> float:
    """Dunning's G² for "k1 of n1" against "k2 of n2": how surprising the difference is."""

    def log_l(k: int, n: int, p: float) -> float:
        if p <= 0.0 or p >= 1.0:
            return 0.0 if k in (0, n) else -math.inf
        return k * math.log(p) + (n - k) * math.log(1 - p)

    if n1 <= 0 or n2 <= 0:
        return 0.0
    p1, p2, p = k1 / n1, k2 / n2, (k1 + k2) / (n1 + n2)
    return 2 * (log_l(k1, n1, p1) + log_l(k2, n2, p2) - log_l(k1, n1, p) - log_l(k2, n2, p))


@dataclass(frozen=True, slots=True)
class WindowCount:
    term: str
    stories: int
    sources: int


def rank_terms(
    window: Sequence[WindowCount],
    background: dict[str, int],
    window_stories: int,
    background_stories: int,
    limit: int,
) -> list[TrendingTerm]:
    """Terms in `MIN_STORIES` window stories whose share is `MIN_LIFT` times their background
    share, by log-likelihood ratio; two sources before one, then ties by count and term.

    A background with fewer stories than the window cannot tell a burst from a common word,
    so it gives no terms at all."""
    if background_stories < max(window_stories, 1):
        return []
    ranked = []
    for item in window:
        k1, k2 = item.stories, background.get(item.term, 0)
        if k1 < MIN_STORIES or k1 / window_stories <= MIN_LIFT * k2 / background_stories:
            continue
        score = log_likelihood_ratio(k1, window_stories, k2, background_stories)
        ranked.append(TrendingTerm(item.term, k1, k2, score, item.sources))
    ranked.sort(key=lambda t: (-min(t.sources, 2), -t.score, -t.count, t.term))
    return ranked[:limit]


def window_end(session: Session, now: datetime) -> int | None:
    """The newest hour with a story, not after `now` (a post dated in the future waits)."""
    newest = session.scalar(
        select(func.max(TERM_BUCKETS.c.bucket)).where(
            TERM_BUCKETS.c.term == ALL_STORIES, TERM_BUCKETS.c.bucket <= bucket_of(now)
        )
    )
    return int(newest) if newest is not None else None


def trending_query(
    session: Session,
    *,
    hours: float = 24.0,
    limit: int = 10,
    now: datetime | None = None,
) -> list[TrendingTerm]:
    """The terms of the `hours` up to the newest story (not after `now`) that stand out.

    Three indexed reads: the window's end, the window's terms, their background counts."""
    end = window_end(session, now or datetime.now(UTC))
    if end is None:
        return []
    span = max(1, math.ceil(hours * 3600 / BUCKET_SECONDS))
    start = end - span
    background_start = start - max(
        span * BACKGROUND_FACTOR, math.ceil(MIN_BACKGROUND_HOURS * 3600 / BUCKET_SECONDS)
    )
    stories = func.sum(TERM_BUCKETS.c.stories)
    rows = session.execute(
        select(
            TERM_BUCKETS.c.term,
            stories,
            func.min(TERM_BUCKETS.c.source_lo),
            func.max(TERM_BUCKETS.c.source_hi),
        )
        .where(TERM_BUCKETS.c.bucket > start, TERM_BUCKETS.c.bucket <= end)
        .group_by(TERM_BUCKETS.c.term)
        .having(stories >= MIN_STORIES)
        .order_by(stories.desc(), TERM_BUCKETS.c.term)
        .limit(CANDIDATES + 1)
    ).all()
    window_stories = next((int(n) for term, n, _, _ in rows if term == ALL_STORIES), 0)
    window = [
        WindowCount(term, int(n), 1 if lo == hi else 2)
        for term, n, lo, hi in rows
        if term != ALL_STORIES
    ]
    if not window:
        return []
    background = {
        term: int(n)
        for term, n in session.execute(
            select(TERM_BUCKETS.c.term, stories)
            .where(
                TERM_BUCKETS.c.term.in_([ALL_STORIES, *(w.term for w in window)]),
                TERM_BUCKETS.c.bucket > background_start,
                TERM_BUCKETS.c.bucket <= start,
            )
            .group_by(TERM_BUCKETS.c.term)
        )
    }
    background_stories = background.pop(ALL_STORIES, 0)
    return rank_terms(window, background, window_stories, background_stories, limit)


async def trending_terms(
    session: AsyncSession,
    *,
    hours: float = 24.0,
    limit: int = 10,
    now: datetime | None = None,
) -> list[TrendingTerm]:
    """`trending_query` in an async session."""
    return await session.run_sync(trending_query, hours=hours, limit=limit, now=now)


@dataclass(frozen=True, slots=True)
class _Answer:
    stamp: tuple[int | None, int]
    terms: list[TrendingTerm]
    at: float


class TrendingCache:
    """`trending_query`'s answers, per window length, kept while the store's newest article
    id and the hour of "now" stay the same; `max_age` bounds how long a whole-store recount
    by another process (`newsbot reindex`, which keeps the ids) can go unseen.

    An answer younger than `fresh_for` seconds stands even when new articles came in since:
    a long ingest stores a batch every few seconds, and recounting after each would put the
    whole cost back on every `/trending`. Its words count stories of hours, so a minute late
    changes little; the bot computes the answer again when an ingest ends (`clear`, then a
    query). Such a young answer needs no read at all (`fresh`): on PostgreSQL, where reads run
    on the event loop, `/trending` then costs no round trip.

    Answers are computed for `depth` terms, and a shorter list is their head (the ranking
    sorts, then cuts). Two requests that miss at once both compute: no lock is held across
    the query, which on PostgreSQL runs on the event loop's thread."""

    def __init__(self, *, depth: int = 10, max_age: float = 600.0, fresh_for: float = 60.0) -> None:
        self.depth, self.max_age, self.fresh_for = depth, max_age, fresh_for
        self._answers: dict[float, _Answer] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._answers.clear()

    def fresh(
        self, *, hours: float = 24.0, limit: int = 10, now: datetime | None = None
    ) -> list[TrendingTerm] | None:
        """The answer of this hour younger than `fresh_for`, which stands whatever the store
        holds now: no read at all (None: ask `query`)."""
        with self._lock:
            answer = self._answers.get(hours)
        if answer is None or limit > self.depth:
            return None
        if answer.stamp[1] != bucket_of(now or datetime.now(UTC)):
            return None
        young = time.monotonic() - answer.at <= min(self.fresh_for, self.max_age)
        return answer.terms[:limit] if young else None

    def query(
        self,
        session: Session,
        *,
        hours: float = 24.0,
        limit: int = 10,
        now: datetime | None = None,
    ) -> list[TrendingTerm]:
        if limit > self.depth:
            return trending_query(session, hours=hours, limit=limit, now=now)
        now = now or datetime.now(UTC)
        if (young := self.fresh(hours=hours, limit=limit, now=now)) is not None:
            return young
        # the newest article id changes whenever a story is counted in
        stamp = (session.scalar(select(func.max(Article.id))), bucket_of(now))
        with self._lock:
            answer = self._answers.get(hours)
        # not `fresh`: it stands while no story was added, this hour, up to `max_age`
        if answer and answer.stamp == stamp and time.monotonic() - answer.at <= self.max_age:
            return answer.terms[:limit]
        terms = trending_query(session, hours=hours, limit=self.depth, now=now)
        with self._lock:
            self._answers[hours] = _Answer(stamp, terms, time.monotonic())
        return terms[:limit]

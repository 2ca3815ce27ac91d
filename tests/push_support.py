"""Shared set-up of the push tests and benchmark: articles, subscriptions, what arrived where."""

from __future__ import annotations

import bisect
import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from fakebotapi import Sent
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.push_repository import PushRepository, SubscriptionSpec
from storage.records import ArticleRecord
from storage.repository import ArticleRepository
from storage.subscriptions import Delivery, Subscription

_LINK = re.compile(r'href="https://news\.example\.org/(?P<key>[^"]+)"')


def article(
    key: str,
    title: str,
    *,
    body: str = "",
    category: str | None = "news",
    tags: Sequence[str] = (),
    published: datetime | None = None,
) -> ArticleRecord:
    """A small article of our own, linked at news.example.org/<key> so arrivals can be traced."""
    text = body or f"{title}。这是测试正文。"
    return ArticleRecord(
        key=key,
        title=title,
        published_at=published or datetime(2026, 11, 26, 8, 0, tzinfo=UTC),
        category=category,
        tags=tuple(tags),
        source="测试",
        digest=None,
        paragraphs=[(text, False)],
        summary=text,
        summary_version=1,
        share_url=f"https://news.example.org/{key}",
        file=None,
        content_hash=hashlib.sha256((key + title + text).encode()).hexdigest(),
    )


def distinct_text(seed: str, length: int = 60) -> str:
    """Han text that differs from every other seed's, so no two articles form one story."""
    digest = b"".join(
        hashlib.sha256(f"{seed}:{n}".encode()).digest() for n in range(length // 16 + 1)
    )
    return "".join(
        chr(0x4E00 + (digest[2 * i] << 8 | digest[2 * i + 1]) % 8000) for i in range(length)
    )


def batch(prefix: str, count: int, *, start: datetime | None = None) -> list[ArticleRecord]:
    """`count` unrelated articles keyed `<prefix>-<n>`."""
    first = start or datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    return [
        article(
            f"{prefix}-{n}",
            f"第{n}条新闻 {prefix}",
            body=distinct_text(f"{prefix}-{n}") + "。",
            published=first + timedelta(minutes=n),
        )
        for n in range(count)
    ]


async def store_articles(db: Database, records: Sequence[ArticleRecord]) -> list[int]:
    async with db.session() as session, session.begin():
        outcomes = await ArticleRepository(session).upsert_many(records)
        return [outcome.article_id for outcome in outcomes]


async def subscribe(db: Database, specs: Iterable[SubscriptionSpec]) -> list[int]:
    async with db.session() as session, session.begin():
        repo = PushRepository(session)
        return [(await repo.add(spec)).id for spec in specs]


async def subscriptions(db: Database) -> dict[int, Subscription]:
    async with db.session() as session:
        return {sub.id: sub for sub in await session.scalars(select(Subscription))}


def keys_in(text: str) -> list[str]:
    return [match.group("key") for match in _LINK.finditer(text)]


def arrivals(sent: Iterable[Sent]) -> Counter[tuple[int, int | None, str]]:
    """How often each article reached each chat (and topic)."""
    return Counter(
        (message.chat_id, message.thread_id, key)
        for message in sent
        for key in keys_in(message.text)
    )


async def second_replica(db: Database) -> Database:
    """Another engine on the same store, as a second bot process would open it."""
    if db.dialect != "postgresql":
        return Database(db.url)
    async with db.engine.connect() as conn:
        schema = await conn.scalar(text("SELECT current_schema()"))
    return Database(db.url, connect_args={"server_settings": {"search_path": str(schema)}})


def repeats_per_run(sent: Sequence[Sent], run_ends: Sequence[float]) -> list[int]:
    """How many repeats each push run caused, for runs one after another that ended (were
    killed) at `run_ends`, and a last run after them: a repeat is blamed on the run that sent
    the arrival it repeats, which could not record that send."""
    per_run = [0] * (len(run_ends) + 1)
    last_arrival: dict[tuple[int, int | None, str], float] = {}
    for message in sent:
        for key in arrivals([message]):
            previous = last_arrival.get(key)
            last_arrival[key] = message.at
            if previous is not None:
                per_run[bisect.bisect_right(run_ends, previous)] += 1
    return per_run


async def ledger_counts(session: AsyncSession) -> dict[str, int]:
    """How many ledger rows are in each state."""
    rows = await session.execute(select(Delivery.state, func.count()).group_by(Delivery.state))
    return {state: int(count) for state, count in rows}

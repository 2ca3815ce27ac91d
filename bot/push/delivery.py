"""The push job: plan what each due subscription gets, then send it exactly once.

Planning writes ledger rows (`pending`) and moves each subscription's cursor in one
transaction. Sending goes one message at a time, and a row becomes `sent` in its own commit
right after Telegram confirms it: a crash can repeat at most the one message in flight, and a
restart resumes every row still pending. A lease makes sure only one replica sends.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import KW_ONLY, InitVar, dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.i18n import language_for
from bot.i18n import text as catalog_text
from bot.push.filters import ArticleFacts, SubscriptionFilter, Tokenize
from bot.push.governor import FloodLimits, SendGovernor
from bot.push.schedule import Schedule, next_due
from bot.push.transport import (
    FORBIDDEN_PREFIX,
    Blocked,
    ChatMoved,
    FloodWait,
    Rejected,
    SendError,
    Transport,
    Unreachable,
)
from bot.render.html import render_digest, render_headline
from bot.services.replies import PushItem, copied
from storage.db import Database
from storage.models import utcnow
from storage.push_repository import (
    LATE_COMMITS,
    Lease,
    Ledger,
    NewArticle,
    Plan,
    PushRepository,
    QueuedDelivery,
)
from storage.subscriptions import Subscription
from storage.tokenizer import tokenize_document, tokenize_query

log = logging.getLogger(__name__)


class LeaseLost(RuntimeError):
    """Another replica may be pushing now; stop before sending anything more."""


class Stopping(RuntimeError):
    """Asked to stop: the message in flight was finished and recorded."""


@dataclass
class PushReport:
    had_lease: bool = True
    planned: int = 0
    messages_sent: int = 0
    items_sent: int = 0
    items_failed: int = 0
    items_left_pending: int = 0
    flood_waits: int = 0
    network_retries: int = 0
    paused: list[int] = field(default_factory=list)
    migrated: list[tuple[int, int]] = field(default_factory=list)
    lost_lease: bool = False
    stopped: bool = False


@dataclass
class _Target:
    """Where one subscription's messages go; the chat id follows a migration."""

    subscription_id: int
    chat_id: int
    thread_id: int | None
    paused: bool = False


@dataclass(frozen=True, slots=True)
class _Outgoing:
    text: str
    delivery_ids: tuple[int, ...]
    preview: bool


def choose(
    subscription_id: int,
    cursor: int,
    articles: Sequence[NewArticle],
    wanted: SubscriptionFilter,
    facts: Callable[[NewArticle, bool], ArticleFacts],
    known_stories: set[tuple[int, int]],
    cap: int,
    late_since: datetime | None = None,
) -> tuple[list[NewArticle], list[NewArticle]]:
    """The matching articles past the cursor, one per story, newest `cap` kept; and the rest.

    Articles stored since `late_since` count even below the cursor: their transaction may
    have committed after a newer id was seen. Their story being in the ledger already is
    what keeps them from going out twice.
    """
    needs_tokens = bool(wanted.include or wanted.exclude)
    picked: list[NewArticle] = []
    stories: set[int] = set()
    for article in articles:
        late = (
            late_since is not None
            and article.created_at is not None
            and article.created_at >= late_since
        )
        if (article.id <= cursor and not late) or article.story_id in stories:
            continue
        if (subscription_id, article.story_id) in known_stories:
            continue
        if wanted.matches(facts(article, needs_tokens)):
            picked.append(article)
            stories.add(article.story_id)
    if cap > 0 and len(picked) > cap:
        return picked[-cap:], picked[:-cap]
    return picked, []


async def plan_due(
    db: Database, *, now: datetime, tz: ZoneInfo, tokenize: Tokenize = tokenize_document
) -> int:
    """Queue what every due subscription should get now; returns how many rows were queued.

    The SQL runs on the loop; choosing (every due subscription against every new article,
    with tokenizing for keyword filters) runs in a thread, so replies are not held up."""
    async with db.session() as session, session.begin():
        repo = PushRepository(session)
        subscriptions = await repo.due(now)
        if not subscriptions:
            return 0
        newest = await repo.newest_article_id()
        lowest = min(sub.cursor_article_id for sub in subscriptions)
        late_since = utcnow() - LATE_COMMITS.window
        # an article stored before every due subscription began is late for none of them
        oldest_sub = min(sub.created_at for sub in subscriptions)
        articles = await repo.articles_between(lowest, newest, max(late_since, oldest_sub))
        known = await repo.known_stories(
            [sub.id for sub in subscriptions], (article.story_id for article in articles)
        )
        cache: dict[tuple[int, bool], ArticleFacts] = {}

        def facts(article: NewArticle, with_tokens: bool) -> ArticleFacts:
            key = (article.id, with_tokens)
            if key not in cache:
                cache[key] = ArticleFacts.of(
                    article.text if with_tokens else "",
                    article.category,
                    article.tags,
                    tokenize,
                )
            return cache[key]

        def plan() -> list[Plan]:
            plans: list[Plan] = []
            for sub in subscriptions:
                schedule = Schedule.decode(sub.schedule)
                due_next = next_due(schedule, now, tz)
                if schedule.is_digest and sub.next_due_at is None:
                    plans.append(Plan(sub.id, sub.cursor_article_id, due_next))
                    continue
                picked, over_cap = choose(
                    sub.id,
                    sub.cursor_article_id,
                    articles,
                    SubscriptionFilter.build(
                        categories=sub.categories,
                        tags=sub.tags,
                        include=sub.include_keywords,
                        exclude=sub.exclude_keywords,
                        tokenize=tokenize_query,
                    ),
                    facts,
                    known,
                    sub.max_items,
                    max(late_since, sub.created_at),
                )
                cursor = max(newest, sub.cursor_article_id)
                if picked or over_cap or cursor != sub.cursor_article_id or schedule.is_digest:
                    plans.append(Plan(sub.id, cursor, due_next, picked, over_cap))
            return plans

        return await repo.record_plans(await asyncio.to_thread(plan))


def _item(article: NewArticle) -> PushItem:
    return copied(PushItem, article, article_id=article.id)


def compose(
    subscription: Subscription,
    queued: Sequence[QueuedDelivery],
    headlines: dict[tuple[int, str], str] | None = None,
) -> list[_Outgoing]:
    """One message per headline (each rendered once per language into `headlines`, for a
    fan-out of one article to many chats), or the digest in as few messages as fit."""
    lang = language_for(subscription.language)
    if not Schedule.decode(subscription.schedule).is_digest:
        rendered = {} if headlines is None else headlines
        for row in queued:
            if (row.article.id, lang) not in rendered:
                rendered[row.article.id, lang] = render_headline(_item(row.article), lang)
        return [_Outgoing(rendered[row.article.id, lang], (row.id,), True) for row in queued]
    ids_by_article = {row.article.id: row.id for row in queued}
    heading = catalog_text(lang, "digest_heading", count=len(queued))
    return [
        _Outgoing(text, tuple(ids_by_article[a] for a in article_ids), False)
        for text, article_ids in render_digest(
            [_item(row.article) for row in queued], lang, heading
        )
    ]


Sleep = Callable[[float], Awaitable[Any]]


@dataclass(eq=False)
class Pusher:
    """Runs push rounds for one process; keeps the flood governor between rounds."""

    db: Database
    transport: Transport
    lease: Lease
    _: KW_ONLY
    tz: ZoneInfo
    limits: InitVar[FloodLimits | None] = None
    shared_governor: InitVar[SendGovernor | None] = None
    """One that counts the bot's other messages too (its replies), instead of a new one."""
    network_retries: int = 6
    backoff: float = 0.5
    max_backoff: float = 30.0
    clock: Callable[[], float] = time.monotonic
    sleep: Sleep = asyncio.sleep
    stopping: bool = field(default=False, init=False)
    _round: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)
    """One round at a time: the lease is per process, and a second round started meanwhile
    (the timer and a push asked for after an ingest) would send the same pending rows again."""

    def __post_init__(
        self, limits: FloodLimits | None, shared_governor: SendGovernor | None
    ) -> None:
        self.governor = shared_governor or SendGovernor(limits or FloodLimits())
        self.ledger = Ledger(self.db)

    def stop(self) -> None:
        """Finish the message in flight, then stop (for SIGTERM and SIGINT)."""
        self.stopping = True

    async def run_once(self, now: datetime | None = None) -> PushReport:
        """Plan and send one round, if this replica holds the lease."""
        async with self._round:
            return await self._run_once(now)

    async def _run_once(self, now: datetime | None) -> PushReport:
        if not await self.lease.acquire():
            return PushReport(had_lease=False)
        report = PushReport()
        try:
            report.planned = await plan_due(self.db, now=now or utcnow(), tz=self.tz)
            async with self.ledger:
                await self.send_pending(report)
        except LeaseLost:
            report.lost_lease = True
            log.warning("push lease lost; another replica takes over")
        except Stopping:
            report.stopped = True
        finally:
            await self.lease.release()
        return report

    async def send_pending(self, report: PushReport) -> None:
        async with self.db.session() as session:
            subscriptions, queued = await PushRepository(session).pending()
        rows_by_sub: dict[int, list[QueuedDelivery]] = {}
        for row in queued:
            rows_by_sub.setdefault(row.subscription_id, []).append(row)
        targets: dict[int, _Target] = {}
        queues: dict[int, deque[_Outgoing]] = {}
        headlines: dict[tuple[int, str], str] = {}
        for sub in subscriptions:
            if sub.id not in rows_by_sub:
                continue
            targets[sub.id] = _Target(sub.id, sub.chat_id, sub.message_thread_id)
            queues[sub.id] = deque(compose(sub, rows_by_sub[sub.id], headlines))
        order = itertools.count()
        ready: list[tuple[float, int, int]] = [(0.0, next(order), sub_id) for sub_id in queues]
        heapq.heapify(ready)
        while ready:
            at, _, sub_id = heapq.heappop(ready)
            target = targets[sub_id]
            if target.paused:
                continue
            chat_ready = self.governor.chat_ready_at(target.chat_id)
            if chat_ready > at:
                heapq.heappush(ready, (chat_ready, next(order), sub_id))
                continue
            queue = queues[sub_id]
            await self._deliver(target, queue.popleft(), targets.values(), report)
            if queue and not target.paused:
                chat_ready = self.governor.chat_ready_at(target.chat_id)
                heapq.heappush(ready, (chat_ready, next(order), sub_id))
        self.governor.forget(self.clock())

    async def _wait_turn(self, chat_id: int) -> None:
        while (delay := self.governor.ready_at(chat_id) - self.clock()) > 0:
            await self.sleep(delay)

    async def _send(self, target: _Target, message: _Outgoing) -> int:
        """One request; counted when its answer is back, which is after Telegram counted it."""
        try:
            return await self.transport.send(
                target.chat_id, message.text, thread_id=target.thread_id, preview=message.preview
            )
        finally:
            self.governor.record(target.chat_id, self.clock())

    async def _deliver(
        self,
        target: _Target,
        message: _Outgoing,
        all_targets: Any,
        report: PushReport,
    ) -> None:
        """Send one message until Telegram confirms it or the failure is final for it."""
        ids = message.delivery_ids
        attempts = 0
        while True:
            if self.stopping:
                raise Stopping
            if not await self.lease.held():
                raise LeaseLost
            await self._wait_turn(target.chat_id)
            try:
                sent = await self._send(target, message)
            except FloodWait as exc:
                report.flood_waits += 1
                self.governor.hold(self.clock() + exc.seconds)
                continue
            except Blocked as exc:
                reason = f"{FORBIDDEN_PREFIX}{exc.message}"
                await self.ledger.pause(target.subscription_id, reason)
                target.paused = True
                report.paused.append(target.subscription_id)
                report.items_failed += len(ids)
                log.info("paused subscription %s: %s", target.subscription_id, reason)
                return
            except ChatMoved as exc:
                old, new = target.chat_id, exc.new_chat_id
                await self.ledger.move_chat(old, new)
                for other in all_targets:
                    if other.chat_id == old:
                        other.chat_id = new
                report.migrated.append((old, new))
                continue
            except Rejected as exc:
                await self.ledger.mark_failed(ids, f"bad request: {exc.message}")
                report.items_failed += len(ids)
                return
            except Unreachable as exc:
                attempts += 1
                report.network_retries += 1
                if attempts > self.network_retries:
                    await self.ledger.record_attempt(ids, f"network: {exc.message}")
                    report.items_left_pending += len(ids)
                    return
                await self.sleep(min(self.max_backoff, self.backoff * 2 ** (attempts - 1)))
                continue
            except SendError as exc:
                await self.ledger.mark_failed(ids, exc.message)
                report.items_failed += len(ids)
                return
            await self.ledger.mark_sent(ids, sent)
            report.messages_sent += 1
            report.items_sent += len(ids)
            return

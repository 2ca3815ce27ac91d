"""Prometheus metrics of the running bot (`newsbot run`), in the process's default registry.

Only the bot imports this module, so the other commands never load prometheus_client. Labels
are kept to small, known sets: commands the bot registered, configured sources, outcomes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Iterable
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client import generate_latest as _generate_latest
from prometheus_client import start_http_server as _start_http_server
from telegram import Update
from telegram.ext import Application, CommandHandler, SimpleUpdateProcessor

if TYPE_CHECKING:
    from bot.handlers.common import BotState
    from bot.ingest.pipeline import IngestReport
    from bot.push.delivery import PushReport
    from storage.db import Database

# No `*_created` series: they double the output, and rates do not need them.
disable_created_metrics()  # type: ignore[no-untyped-call]

UPDATES = Counter("newsbot_updates", "Updates handled, by command or kind of update", ["command"])
UPDATE_SECONDS = Histogram(
    "newsbot_update_seconds",
    "Time from taking an update to its handlers having replied, by command or kind",
    ["command"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
INGEST_RUNS = Counter("newsbot_ingest_runs", "Ingest runs finished (scheduled or by an admin)")
INGEST_POSTS = Counter(
    "newsbot_ingest_posts",
    "Posts by ingest outcome (added, updated, unchanged, failed) and configured source",
    ["source", "outcome"],
)
PUSH_ROUNDS = Counter(
    "newsbot_push_rounds", "Push rounds, by whether this process held the lease", ["lease"]
)
PUSH_DELIVERIES = Counter(
    "newsbot_push_deliveries",
    "Pushed items by outcome: sent, failed (final), pending (left for a retry)",
    ["outcome"],
)
PUSH_MESSAGES = Counter("newsbot_push_messages", "Push messages Telegram confirmed")
PUSH_FLOOD_WAITS = Counter(
    "newsbot_push_flood_waits", "429 Too Many Requests answers while pushing (each one waited)"
)
PUSH_BACKLOG = Gauge("newsbot_push_backlog", "Deliveries pending in the ledger, all replicas")
LEASE_HELD = Gauge(
    "newsbot_push_lease_held", "1 when this process held the push lease in its latest round"
)
ARTICLES = Gauge("newsbot_store_articles", "Articles in the store (cached, refreshed each minute)")
STORE_REFRESHED = Gauge(
    "newsbot_store_refreshed_timestamp_seconds", "When the store gauges were last read"
)

log = logging.getLogger(__name__)

STORE_REFRESH_SECONDS = 60.0
"""Counting articles and pending deliveries is cheap but not free; scrapes read the cache."""
OTHER_COMMAND = "other_command"


def command_of(update: object, commands: Iterable[str]) -> str:
    """The label for an update: its command when the bot knows it, else the kind of update.

    Unknown commands share one label, so a user typing `/random123` cannot add series."""
    if not isinstance(update, Update):
        return "other"
    if update.callback_query is not None:
        return "callback"
    if update.inline_query is not None:
        return "inline"
    message = update.message or update.edited_message or update.channel_post
    if message is None or not message.text:
        return "other"
    if not message.text.startswith("/"):
        return "text"
    words = message.text[1:].split(maxsplit=1)
    name = words[0].split("@", 1)[0].lower() if words else ""
    return name if name in commands else OTHER_COMMAND


class MeasuredUpdateProcessor(SimpleUpdateProcessor):
    """PTB's concurrent update processor, timing each update's handlers by command."""

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self.commands: frozenset[str] = frozenset()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        label = command_of(update, self.commands)
        started = time.perf_counter()
        try:
            await coroutine
        finally:
            UPDATE_SECONDS.labels(label).observe(time.perf_counter() - started)
            UPDATES.labels(label).inc()


def observe_ingest(report: IngestReport) -> None:
    INGEST_RUNS.inc()
    for source, tally in report.by_source.items():
        for outcome in ("added", "updated", "unchanged", "failed"):
            INGEST_POSTS.labels(source, outcome).inc(getattr(tally, outcome))


def observe_push(report: PushReport) -> None:
    PUSH_ROUNDS.labels("held" if report.had_lease else "elsewhere").inc()
    LEASE_HELD.set(1 if report.had_lease and not report.lost_lease else 0)
    if not report.had_lease:
        return
    PUSH_DELIVERIES.labels("sent").inc(report.items_sent)
    PUSH_DELIVERIES.labels("failed").inc(report.items_failed)
    PUSH_DELIVERIES.labels("pending").inc(report.items_left_pending)
    PUSH_MESSAGES.inc(report.messages_sent)
    PUSH_FLOOD_WAITS.inc(report.flood_waits)


class StoreGauges:
    """The article count and the push backlog, read at most once a minute."""

    def __init__(self, db: Database, every: float = STORE_REFRESH_SECONDS) -> None:
        self.db = db
        self.every = every
        self._read_at = float("-inf")
        self._lock = asyncio.Lock()

    async def refresh(self, *, force: bool = False) -> None:
        async with self._lock:
            if not force and time.monotonic() - self._read_at < self.every:
                return
            from storage.push_repository import PushRepository
            from storage.repository import ArticleRepository

            async with self.db.session() as session:
                articles = await ArticleRepository(session).article_count()
                backlog = await PushRepository(session).pending_count()
            ARTICLES.set(articles)
            PUSH_BACKLOG.set(backlog)
            STORE_REFRESHED.set_to_current_time()
            self._read_at = time.monotonic()


def exposition() -> tuple[bytes, str]:
    """The registry in Prometheus' text format, with its content type."""
    return _generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def serve(port: int, address: str = "0.0.0.0") -> None:
    """`/metrics` on a port of its own, from a daemon thread (polling mode has no web server)."""
    _start_http_server(port, addr=address)


def install(application: Application, state: BotState, processor: MeasuredUpdateProcessor) -> None:  # type: ignore[type-arg]
    """Hook the metrics into a built application: command labels, ingest reports, store gauges."""
    processor.commands = frozenset(
        command
        for handlers in application.handlers.values()
        for handler in handlers
        if isinstance(handler, CommandHandler)
        for command in handler.commands
    )
    gauges = StoreGauges(state.db)

    async def ingested(report: IngestReport) -> None:
        observe_ingest(report)
        if report.added or report.updated:
            try:
                await gauges.refresh(force=True)
            except Exception:  # a metric must never fail the ingest it describes
                log.warning("could not refresh the store gauges", exc_info=True)

    state.ingest_gate.on_report = ingested

    async def refresh(context: Any) -> None:
        await gauges.refresh()

    if application.job_queue is not None:
        application.job_queue.run_repeating(
            refresh, interval=STORE_REFRESH_SECONDS, first=1.0, name="metrics-store"
        )

"""Prometheus metrics of the running bot (`newsbot run`), in the process's default registry;
`bot/telegram_metrics.py` hooks them into python-telegram-bot.

Only the bot imports this module, so the other commands never load prometheus_client. Labels
are kept to small, known sets: commands the bot registered, configured sources, outcomes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
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

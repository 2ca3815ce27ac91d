"""Admin answers: statistics, and one background ingest at a time."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING

from bot.services import browse, trending
from bot.services.articles import COUNTS
from bot.services.replies import (
    IngestSummary,
    LastIngest,
    Stats,
    copied,
)
from bot.settings import Settings
from storage.db import Database
from storage.records import Failure
from storage.repository import ArticleRepository

if TYPE_CHECKING:
    from bot.ingest.pipeline import IngestReport


async def stats(db: Database, *, started_monotonic: float) -> Stats:
    async with db.session() as session:
        store = await ArticleRepository(session).stats()
    last = None
    if store.last_ingest is not None:
        run = store.last_ingest
        failures = tuple(
            Failure(str(f.get("source", "")), str(f.get("error", "")))
            for f in run.failed or []
            if isinstance(f, dict)
        )
        summary = IngestSummary(run.added, run.updated, run.unchanged, failures)
        last = copied(LastIngest, run, summary=summary)
    return copied(
        Stats,
        store,
        last_ingest=last,
        backend=db.dialect,
        database_bytes=await db.size_bytes(),
        uptime_seconds=time.monotonic() - started_monotonic,
    )


log = logging.getLogger(__name__)


class IngestGate:
    """Lets one ingest run at a time, whether an admin asked or the schedule did."""

    def __init__(self, on_new_articles: Callable[[], None] | None = None) -> None:
        self._lock = asyncio.Lock()
        self.on_new_articles = on_new_articles
        """Called after a run that stored new or changed articles (the push job hooks in)."""
        self.on_report: Callable[[IngestReport], Awaitable[None]] | None = None
        """Called with every finished run's report (the metrics hook in)."""
        self.pool: ProcessPoolExecutor | None = None
        """The worker processes every run prepares its posts in: started once, kept."""
        self._background: set[asyncio.Task[None]] = set()

    def start_pool(self, settings: Settings) -> None:
        """Start the worker processes now and have each load the ingest code and jieba's
        dictionary, so the first ingest does not pay for it while users wait."""
        from bot.ingest.workers import warm_up, worker_pool

        if self.pool is None:
            self.pool = worker_pool(settings.ingest.workers, settings.ingest.nice)
            for _ in range(settings.ingest.workers):
                self.pool.submit(warm_up)

    def close(self) -> None:
        """Stop the workers at once: what they do is pure preparation, and waiting for a
        warm-up or a chunk would hold up the bot's shutdown."""
        if self.pool is not None:
            # Taken before `shutdown`, which forgets them: the pool has no public way to stop
            # a worker in the middle of a task (Python 3.14's `terminate_workers`).
            for process in list((self.pool._processes or {}).values()):
                process.terminate()
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

    def beside(self, work: Awaitable[None]) -> None:
        """Run `work` beside the replies, kept referenced until done; a failure is logged."""

        async def guarded() -> None:
            try:
                await work
            except Exception:
                log.exception("work beside the replies failed")

        task = asyncio.get_running_loop().create_task(guarded())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def stop_beside(self) -> None:
        """Cancel what runs beside the replies (before the store it reads is closed)."""
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await COUNTS.stop()

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    async def run(
        self, db: Database, source_list: Sequence[str], settings: Settings
    ) -> IngestSummary | None:
        """Ingest the sources; None when another ingest holds the gate."""
        if self._lock.locked():
            return None
        async with self._lock:
            from bot.ingest.pipeline import ingest

            self.start_pool(settings)
            assert self.pool is not None
            report = await ingest(db, list(source_list), settings=settings, pool=self.pool)
        if self.on_report is not None:
            await self.on_report(report)
        if report.added:
            self.beside(trending.refresh(db))
        if report.added or report.updated:
            COUNTS.expire()
            self.beside(browse.count_again(db))
            if self.on_new_articles is not None:
                self.on_new_articles()
        return copied(IngestSummary, report, failures=tuple(report.failed))

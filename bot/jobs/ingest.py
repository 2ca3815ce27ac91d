"""The scheduled ingest, and loading jieba's dictionary right after start-up."""

from __future__ import annotations

import asyncio
import logging

from bot.handlers.common import App, Context, state_of
from bot.services import sources as source_service

log = logging.getLogger(__name__)

FIRST_INGEST_DELAY = 5.0
SCHEDULE_TICK = 60.0
"""How often the ingest job wakes up to run the sources whose turn has come."""


async def warm_up(context: Context) -> None:
    """Load jieba's dictionary in a thread, so the first search is fast and polling does not
    wait for it."""
    import jieba

    await asyncio.to_thread(jieba.initialize)


async def scheduled_ingest(context: Context) -> None:
    """Each source runs on its own interval, backing off after failures.

    The first run schedules NEWSBOT_SOURCES (once per start, so a source removed in chat stays
    removed until the next start); later runs read whichever sources are due.
    """
    state = state_of(context)
    data = context.job.data if context.job is not None else None
    if isinstance(data, dict) and not data.get("seeded"):
        await source_service.seed(state.db, state.settings)
        data["seeded"] = True
    summary = await source_service.run_due(state.db, state.settings, state.ingest_gate)
    if summary is None:
        log.debug("scheduled ingest: nothing due, or another ingest is running")
        return
    log.info(
        "scheduled ingest: %d added, %d updated, %d unchanged, %d not modified, %d failed",
        summary.added,
        summary.updated,
        summary.unchanged,
        len(summary.not_modified),
        len(summary.failures),
    )
    for failure in summary.failures:
        log.warning("ingest failure in %s: %s", failure.source, failure.error)
    for source in summary.gaps:
        log.warning("%s: items may have been missed between reads", source)


def schedule(application: App) -> None:
    if application.job_queue is None:
        return
    interval = application.bot_data.settings.ingest.interval.total_seconds()
    application.job_queue.run_once(warm_up, when=0, name="warm-up")
    application.job_queue.run_repeating(
        scheduled_ingest,
        interval=min(SCHEDULE_TICK, interval),
        first=FIRST_INGEST_DELAY,
        name="scheduled-ingest",
        data={"seeded": False},
    )

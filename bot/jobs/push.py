"""The push job: one round every `PUSH_INTERVAL`, and one right after an ingest stored news."""

from __future__ import annotations

import logging
from datetime import timedelta

from bot import metrics
from bot.handlers.common import App, Context, state_of
from bot.push.delivery import Pusher
from bot.telegram_push import TelegramMessenger
from storage.push_repository import lease_for

log = logging.getLogger(__name__)

PUSH_INTERVAL = timedelta(seconds=30)


async def push_tick(context: Context) -> None:
    """One push round; other replicas skip it while one holds the lease."""
    state = state_of(context)
    if state.pusher is None:
        messenger = TelegramMessenger(state.push_bot or context.bot)
        lease = lease_for(state.db)
        tz, governor = state.settings.tz, state.governor
        state.pusher = Pusher(state.db, messenger, lease, tz=tz, shared_governor=governor)
    report = await state.pusher.run_once()
    metrics.observe_push(report)
    if report.messages_sent or report.items_failed or report.paused:
        log.info(
            "push: %d messages (%d items) sent, %d items failed, paused %s",
            report.messages_sent,
            report.items_sent,
            report.items_failed,
            report.paused,
        )


def request_push(application: App) -> None:
    """Push right away, e.g. after an ingest, instead of waiting for the next tick."""
    if application.job_queue is not None:
        application.job_queue.run_once(push_tick, when=0, name="push-now")


def schedule(application: App) -> None:
    if application.job_queue is not None:
        application.job_queue.run_repeating(
            push_tick, interval=PUSH_INTERVAL, first=PUSH_INTERVAL, name="push"
        )

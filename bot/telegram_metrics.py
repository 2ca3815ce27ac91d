"""The metrics' hooks into python-telegram-bot: an update processor that times each update by
command, and the wiring of command labels, ingest reports and store gauges (`bot.metrics`)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Iterable
from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.ext import CommandHandler, SimpleUpdateProcessor

from bot.metrics import (
    OTHER_COMMAND,
    STORE_REFRESH_SECONDS,
    UPDATE_SECONDS,
    UPDATES,
    StoreGauges,
    log,
    observe_ingest,
)

if TYPE_CHECKING:
    from bot.handlers.common import App, BotState
    from bot.ingest.pipeline import IngestReport


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


def install(application: App, state: BotState, processor: MeasuredUpdateProcessor) -> None:
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

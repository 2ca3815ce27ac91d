"""The python-telegram-bot `Application`, built from settings."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import BotCommand, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes, Defaults
from telegram.request import BaseRequest

from bot import telegram_metrics
from bot.handlers import register_all, subscriptions
from bot.handlers.common import BotState, install_state, state_of
from bot.i18n import Lang, text
from bot.services import sources as source_service
from bot.services.actions import PUBLIC_COMMANDS
from bot.settings import Settings
from bot.store import database_of
from storage.db import Database

log = logging.getLogger(__name__)

RATE_LIMIT_RETRIES = 3
FIRST_INGEST_DELAY = 5.0
SCHEDULE_TICK = 60.0
"""How often the ingest job wakes up to run the sources whose turn has come."""
CONCURRENT_UPDATES = 32
"""Updates handled at once, so one slow search does not hold up everyone else."""
MENU_LANGUAGES: tuple[tuple[str | None, Lang], ...] = ((None, "zh"), ("zh", "zh"), ("en", "en"))


class MissingTokenError(RuntimeError):
    """No NEWSBOT_TELEGRAM_TOKEN: the bot cannot talk to Telegram."""


def file_url(base_url: str) -> str:
    """`…/bot` → `…/file/bot`, the Bot API's file endpoint beside its method endpoint."""
    root = base_url.rstrip("/")
    return root[: -len("bot")] + "file/bot" if root.endswith("/bot") else root + "/file/bot"


def menu(lang: Lang) -> list[BotCommand]:
    return [BotCommand(name, text(lang, f"cmd_{name}")) for name in ("start", *PUBLIC_COMMANDS)]


async def _post_init(application: Application) -> None:  # type: ignore[type-arg]
    state: BotState = application.bot_data["newsbot"]
    await state.db.ensure_schema()
    if state.settings.sources or state.settings.admin.ids:
        state.ingest_gate.start_pool(state.settings)
    for language_code, lang in MENU_LANGUAGES:
        await application.bot.set_my_commands(menu(lang), language_code=language_code)


async def _post_shutdown(application: Application) -> None:  # type: ignore[type-arg]
    state: BotState = application.bot_data["newsbot"]
    await asyncio.to_thread(state.ingest_gate.close)
    await state.db.dispose()


async def warm_up(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Load jieba's dictionary in a thread right after start-up, so the first search is fast
    and polling does not wait for it."""
    import jieba

    await asyncio.to_thread(jieba.initialize)


async def scheduled_ingest(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The JobQueue's ingest: each source runs on its own interval, backing off after failures.

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


def build_application(
    settings: Settings, db: Database | None = None, *, request: BaseRequest | None = None
) -> Application[Any, Any, Any, Any, Any, Any]:
    """The bot with every handler, the rate limiter, the menu and the ingest schedule;
    `request` replaces the HTTP transport (benchmarks time requests without a network)."""
    token = settings.telegram.token.get_secret_value() if settings.telegram.token else None
    if not token:
        raise MissingTokenError("NEWSBOT_TELEGRAM_TOKEN is not set")
    defaults = Defaults(
        parse_mode=ParseMode.HTML,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
        tzinfo=settings.tz,
    )
    processor = telegram_metrics.MeasuredUpdateProcessor(CONCURRENT_UPDATES)
    builder = ApplicationBuilder()
    if request is not None:
        builder = builder.request(request)
    application = (
        builder.token(token)
        .base_url(settings.telegram.base_url)
        .base_file_url(file_url(settings.telegram.base_url))
        .defaults(defaults)
        .rate_limiter(AIORateLimiter(max_retries=RATE_LIMIT_RETRIES))
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        .concurrent_updates(processor)
        .build()
    )
    state = BotState(db=db or database_of(settings), settings=settings)
    state.ingest_gate.on_new_articles = lambda: subscriptions.request_push(application)
    install_state(application, state)
    register_all(application)
    subscriptions.register(application)
    telegram_metrics.install(application, state, processor)
    if application.job_queue is not None:
        application.job_queue.run_once(warm_up, when=0, name="warm-up")
    if application.job_queue is not None:
        application.job_queue.run_repeating(
            scheduled_ingest,
            interval=min(SCHEDULE_TICK, settings.ingest.interval.total_seconds()),
            first=FIRST_INGEST_DELAY,
            name="scheduled-ingest",
            data={"seeded": False},
        )
    return application

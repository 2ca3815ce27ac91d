"""The python-telegram-bot `Application`, built from settings."""

from __future__ import annotations

import asyncio
import gc
import logging

from telegram import BotCommand, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.ext import ApplicationBuilder, Defaults
from telegram.request import BaseRequest

from bot import telegram_metrics
from bot.handlers import register_all, subscriptions
from bot.handlers.common import CONTEXT_TYPES, App, install_state
from bot.i18n import Lang, text
from bot.jobs import ingest as ingest_jobs
from bot.jobs import push as push_jobs
from bot.push.governor import SendGovernor
from bot.services import browse
from bot.services.actions import PUBLIC_COMMANDS
from bot.settings import Settings
from bot.store import database_of
from bot.telegram_http import AiohttpRequest
from bot.telegram_push import ReplyRateLimiter, standalone_messenger
from storage.db import Database

log = logging.getLogger(__name__)

RATE_LIMIT_RETRIES = 3
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


async def _post_init(application: App) -> None:
    """Schema, ingest workers, menus; then `gc.freeze()`: a full collection of the ~150,000
    objects startup leaves took 130-190 ms, a pause that every reply in flight waited out."""
    state = application.bot_data
    await state.db.ensure_schema()
    state.ingest_gate.beside(browse.count_again(state.db))  # `/tags` must not wait for it
    if state.settings.sources or state.settings.admin.ids:
        state.ingest_gate.start_pool(state.settings)
    if state.push_bot is not None:
        await state.push_bot.initialize()
    for language_code, lang in MENU_LANGUAGES:
        await application.bot.set_my_commands(menu(lang), language_code=language_code)
    gc.collect()
    gc.freeze()


async def _post_shutdown(application: App) -> None:
    state = application.bot_data
    await state.ingest_gate.stop_beside()
    await asyncio.to_thread(state.ingest_gate.close)
    if state.push_bot is not None:
        await state.push_bot.shutdown()
    await state.db.dispose()


def build_application(
    settings: Settings, db: Database | None = None, *, request: BaseRequest | None = None
) -> App:
    """The bot with every handler, the rate limiter, the menu, the push and ingest jobs;
    `request` replaces the HTTP transport of replies and pushes alike (tests, benchmarks)."""
    token = settings.telegram.token.get_secret_value() if settings.telegram.token else None
    if not token:
        raise MissingTokenError("NEWSBOT_TELEGRAM_TOKEN is not set")
    defaults = Defaults(
        parse_mode=ParseMode.HTML,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
        tzinfo=settings.tz,
    )
    processor = telegram_metrics.MeasuredUpdateProcessor(CONCURRENT_UPDATES)
    governor = SendGovernor()
    builder = ApplicationBuilder()
    if request is not None:
        builder = builder.request(request)
    else:
        # replies and the long poll over aiohttp (`bot.telegram_http`): a `/latest` reply cost
        # the bot 3.0 ms of CPU instead of 4.0-4.2 over httpx
        builder = builder.request(AiohttpRequest(CONCURRENT_UPDATES)).get_updates_request(
            AiohttpRequest(1)
        )
    application = (
        builder.token(token)
        .base_url(settings.telegram.base_url)
        .base_file_url(file_url(settings.telegram.base_url))
        .defaults(defaults)
        .context_types(CONTEXT_TYPES)
        .rate_limiter(ReplyRateLimiter(governor, max_retries=RATE_LIMIT_RETRIES))
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        .concurrent_updates(processor)
        .build()
    )
    state = install_state(application, db or database_of(settings), settings)
    state.governor = governor
    if request is None:
        # the fan-out's sends over a client of their own (aiohttp: about a quarter of httpx's
        # CPU per request, on the loop that answers people), not in the replies' pool
        state.push_bot = standalone_messenger(token, settings.telegram.base_url).bot
    state.ingest_gate.on_new_articles = lambda: push_jobs.request_push(application)
    register_all(application)
    subscriptions.register(application)
    telegram_metrics.install(application, state, processor)
    ingest_jobs.schedule(application)
    push_jobs.schedule(application)
    return application

"""`/ingest [source]`, `/sources` and `/stats`, for the user ids in NEWSBOT_ADMIN_IDS only."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.ext import Application, CommandHandler

from bot.handlers.common import Context, send, state_of, viewer_of
from bot.services import admin
from bot.services.replies import Notice, Viewer

log = logging.getLogger(__name__)

AdminHandler = Callable[[Update, Context, Viewer], Awaitable[None]]


def admin_only(
    command: str, handler: AdminHandler
) -> Callable[[Update, Context], Coroutine[Any, Any, None]]:
    """Refuse politely, and log the attempt, when the sender is not an admin."""

    async def guarded(update: Update, context: Context) -> None:
        viewer = viewer_of(update, context)
        if not viewer.is_admin:
            chat = update.effective_chat
            log.warning(
                "refused /%s from user %s in chat %s: not an admin",
                command,
                viewer.user_id,
                chat.id if chat else None,
            )
            await send(update, context, Notice("admin_only"), viewer)
            return
        await handler(update, context, viewer)

    return guarded


async def ingest(update: Update, context: Context, viewer: Viewer) -> None:
    state = state_of(context)
    sources = admin.resolve_sources(context.args or [], state.settings)
    if not sources:
        await send(update, context, Notice("ingest_no_sources"), viewer)
        return
    if state.ingest_gate.busy:
        await send(update, context, Notice("ingest_busy"), viewer)
        return
    await send(update, context, Notice("ingest_started", {"sources": ", ".join(sources)}), viewer)

    async def run_and_report() -> None:
        try:
            summary = await state.ingest_gate.run(state.db, sources, state.settings)
        except Exception as exc:
            log.exception("ingest of %s failed", sources)
            await send(update, context, Notice("ingest_crashed", {"error": str(exc)}), viewer)
            return
        await send(update, context, summary or Notice("ingest_busy"), viewer)

    context.application.create_task(run_and_report(), update=update, name="admin-ingest")


async def sources(update: Update, context: Context, viewer: Viewer) -> None:
    await send(update, context, admin.sources(state_of(context).settings), viewer)


async def stats(update: Update, context: Context, viewer: Viewer) -> None:
    state = state_of(context)
    await send(
        update, context, await admin.stats(state.db, started_monotonic=state.started), viewer
    )


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(CommandHandler("ingest", admin_only("ingest", ingest)))
    application.add_handler(CommandHandler("sources", admin_only("sources", sources)))
    application.add_handler(CommandHandler("stats", admin_only("stats", stats)))

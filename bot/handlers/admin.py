"""`/ingest [ID|URL]`, `/sources`, `/addsource`, `/removesource` and `/stats` (and the source
buttons), for the user ids in NEWSBOT_ADMIN_IDS only."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.handlers.common import App, Context, send, state_of, viewer_of
from bot.i18n import text
from bot.services import admin
from bot.services import sources as source_service
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


async def ingest(
    update: Update, context: Context, viewer: Viewer, named: list[str] | None = None
) -> None:
    """`/ingest [ID|URL]`, or the source `named` by a button."""
    state = state_of(context)
    args = named if named is not None else context.args or []
    targets = await source_service.ingest_targets(state.db, state.settings, args)
    if isinstance(targets, Notice):
        await send(update, context, targets, viewer)
        return
    await start_ingest(update, context, viewer, targets)


async def start_ingest(
    update: Update, context: Context, viewer: Viewer, sources: tuple[str, ...]
) -> None:
    """Ingest in the background and report to the chat when done."""
    state = state_of(context)
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
            await send(
                update, context, Notice("ingest_crashed", {"error": type(exc).__name__}), viewer
            )
            return
        await send(update, context, summary or Notice("ingest_busy"), viewer)

    context.application.create_task(run_and_report(), update=update, name="admin-ingest")


async def sources(update: Update, context: Context, viewer: Viewer) -> None:
    state = state_of(context)
    await send(update, context, await source_service.list_sources(state.db, state.settings), viewer)


async def add_source(update: Update, context: Context, viewer: Viewer) -> None:
    state = state_of(context)
    reply = await source_service.add_source(state.db, state.settings, context.args or [], viewer)
    await send(update, context, reply, viewer)


async def remove_source(update: Update, context: Context, viewer: Viewer) -> None:
    reply = await source_service.remove_source(state_of(context).db, context.args or [])
    await send(update, context, reply, viewer)


async def source_button(update: Update, context: Context) -> None:
    """`src:run:ID` and `src:rm:ID` under `/sources`."""
    query = update.callback_query
    if query is None:
        return
    viewer = viewer_of(update, context)
    if not viewer.is_admin:
        log.warning("refused source button from user %s: not an admin", viewer.user_id)
        await query.answer(text(viewer.lang, "admin_only"), show_alert=True)
        return
    await query.answer()
    _, action, number = (query.data or "").split(":", 2)
    if action == "rm":
        reply = await source_service.remove_source(state_of(context).db, [number])
        await send(update, context, reply, viewer)
        return
    await ingest(update, context, viewer, [number])


async def stats(update: Update, context: Context, viewer: Viewer) -> None:
    state = state_of(context)
    await send(
        update, context, await admin.stats(state.db, started_monotonic=state.started), viewer
    )


def register(application: App) -> None:
    application.add_handler(CommandHandler("ingest", admin_only("ingest", ingest)))
    application.add_handler(CommandHandler("sources", admin_only("sources", sources)))
    application.add_handler(CommandHandler("addsource", admin_only("addsource", add_source)))
    application.add_handler(
        CommandHandler("removesource", admin_only("removesource", remove_source))
    )
    application.add_handler(CallbackQueryHandler(source_button, pattern=r"^src:(run|rm):\d+$"))
    application.add_handler(CommandHandler("stats", admin_only("stats", stats)))

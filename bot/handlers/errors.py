"""Unknown commands get a hint; unexpected errors are logged and the user told politely."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import MessageHandler, filters

from bot.handlers.common import App, Context, is_group, send, viewer_of
from bot.services.replies import Notice

log = logging.getLogger(__name__)


async def unknown_command(update: Update, context: Context) -> None:
    message = update.effective_message
    if message is None or not message.text:
        return
    command, _, addressee = message.text.split()[0][1:].partition("@")
    if addressee and addressee.lower() != (context.bot.username or "").lower():
        return
    if is_group(update.effective_chat) and not addressee:
        return
    viewer = viewer_of(update, context)
    await send(update, context, Notice("unknown_command", {"command": command[:32]}), viewer)


async def on_error(update: object, context: Context) -> None:
    log.error("error while handling update %s", update, exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await send(update, context, Notice("error_generic"), viewer_of(update, context))
        except Exception:
            log.exception("could not tell the user about the error")


def register(application: App) -> None:
    """Last among the command handlers, so only commands nobody else took reach the hint."""
    application.add_handler(MessageHandler(filters.COMMAND, unknown_command))
    application.add_error_handler(on_error)

"""`/search 关键词 [#标签]`, and plain text in a private chat taken as a search."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler, MessageHandler, filters

from bot.handlers.common import App, Context, answering, send, state_of, viewer_of
from bot.services.search import search_command


async def search_plain_text(update: Update, context: Context) -> None:
    message = update.effective_message
    if message is None or not message.text:
        return
    viewer = viewer_of(update, context)
    reply = await search_command(state_of(context).db, message.text.split(), viewer)
    await send(update, context, reply, viewer)


def register(application: App) -> None:
    application.add_handler(CommandHandler("search", answering(search_command)))


def register_plain_text(application: App) -> None:
    """Last of all, so commands and other handlers see their messages first."""
    application.add_handler(
        MessageHandler(
            filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND, search_plain_text
        )
    )

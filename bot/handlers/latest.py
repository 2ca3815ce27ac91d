"""`/latest [n] [分类|#标签]`."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler

from bot.handlers.common import App, Context, send, state_of, viewer_of
from bot.services.articles import latest_command


async def latest(update: Update, context: Context) -> None:
    viewer = viewer_of(update, context)
    reply = await latest_command(state_of(context).db, context.args or [], viewer)
    await send(update, context, reply, viewer)


def register(application: App) -> None:
    application.add_handler(CommandHandler("latest", latest))

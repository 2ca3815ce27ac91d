"""`/start` and `/help`."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler

from bot.handlers.common import App, Context, send, viewer_of
from bot.services.actions import help_reply
from bot.services.replies import Welcome


async def start(update: Update, context: Context) -> None:
    viewer = viewer_of(update, context)
    await send(update, context, Welcome(viewer.display_name, context.bot.username), viewer)


async def help_command(update: Update, context: Context) -> None:
    viewer = viewer_of(update, context)
    await send(update, context, help_reply(viewer, context.bot.username), viewer)


def register(application: App) -> None:
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("help", help_command))

"""`/start` and `/help`."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler

from bot.handlers.common import Context, send, viewer_of
from bot.services.replies import Help, Welcome

PUBLIC_COMMANDS = (
    "latest",
    "search",
    "categories",
    "tags",
    "category",
    "tag",
    "show",
    "trending",
    "help",
)
ADMIN_COMMANDS = ("ingest", "sources", "stats")


def help_reply(is_admin: bool, bot_username: str | None) -> Help:
    return Help(PUBLIC_COMMANDS, ADMIN_COMMANDS if is_admin else (), bot_username)


async def start(update: Update, context: Context) -> None:
    viewer = viewer_of(update, context)
    await send(update, context, Welcome(viewer.display_name, context.bot.username), viewer)


async def help_command(update: Update, context: Context) -> None:
    viewer = viewer_of(update, context)
    await send(update, context, help_reply(viewer.is_admin, context.bot.username), viewer)


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("help", help_command))

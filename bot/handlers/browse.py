"""`/latest`, `/categories`, `/tags`, `/category SLUG`, `/tag NAME`, `/show KEY`, `/trending`."""

from __future__ import annotations

import re

from telegram import Update
from telegram.ext import CommandHandler, MessageHandler, filters

from bot.handlers.common import App, Command, Context, answering, send, state_of, viewer_of
from bot.services import articles, browse
from bot.services.actions import trending_for

SHOW_LINKED = re.compile(r"^/show_(?P<key>[A-Za-z0-9_]+)(?:@(?P<bot>\w+))?$")


async def show_linked(update: Update, context: Context) -> None:
    """`/show_KEY`, the tappable form lists print."""
    match = context.matches[0] if context.matches else None
    if match is None:
        return
    addressee = match.group("bot")
    if addressee and addressee.lower() != (context.bot.username or "").lower():
        return
    viewer = viewer_of(update, context)
    reply = await articles.show_command(state_of(context).db, [match.group("key")], viewer)
    await send(update, context, reply, viewer)


def register(application: App) -> None:
    commands: dict[str, Command] = {
        "latest": articles.latest_command,
        "categories": lambda db, args, viewer: browse.categories(db),
        "tags": lambda db, args, viewer: browse.tags(db),
        "category": articles.category_command,
        "tag": articles.tag_command,
        "show": articles.show_command,
        "trending": lambda db, args, viewer: trending_for(db, viewer),
    }
    for name, command in commands.items():
        application.add_handler(CommandHandler(name, answering(command)))
    application.add_handler(MessageHandler(filters.Regex(SHOW_LINKED), show_linked))

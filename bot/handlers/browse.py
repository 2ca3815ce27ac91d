"""`/categories`, `/tags`, `/category SLUG`, `/tag NAME` and `/show KEY`."""

from __future__ import annotations

import re

from telegram import Update
from telegram.ext import CommandHandler, MessageHandler, filters

from bot.handlers.common import App, Context, answering, send, state_of, viewer_of
from bot.services import articles, browse

SHOW_LINKED = re.compile(r"^/show_(?P<key>[A-Za-z0-9_]+)(?:@(?P<bot>\w+))?$")


async def categories(update: Update, context: Context) -> None:
    viewer = viewer_of(update, context)
    await send(update, context, await browse.categories(state_of(context).db), viewer)


async def tags(update: Update, context: Context) -> None:
    viewer = viewer_of(update, context)
    await send(update, context, await browse.tags(state_of(context).db), viewer)


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
    application.add_handler(CommandHandler("categories", categories))
    application.add_handler(CommandHandler("tags", tags))
    application.add_handler(CommandHandler("category", answering(articles.category_command)))
    application.add_handler(CommandHandler("tag", answering(articles.tag_command)))
    application.add_handler(CommandHandler("show", answering(articles.show_command)))
    application.add_handler(MessageHandler(filters.Regex(SHOW_LINKED), show_linked))

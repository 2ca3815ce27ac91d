"""`/trending`."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler

from bot.handlers.common import App, Context, send, state_of, viewer_of
from bot.services.trending import trending_terms


async def trending(update: Update, context: Context) -> None:
    viewer = viewer_of(update, context)
    limit = 5 if viewer.in_group else 10
    await send(update, context, await trending_terms(state_of(context).db, limit=limit), viewer)


def register(application: App) -> None:
    application.add_handler(CommandHandler("trending", trending))

"""Button presses: page turns edit the message in place, the rest answer with a new message."""

from __future__ import annotations

import logging

from telegram import Message, Update
from telegram.ext import CallbackQueryHandler

from bot.handlers.common import App, Context, edit, send, state_of, viewer_of
from bot.i18n import text
from bot.render.keyboards import Expired, OpenPage, parse_callback
from bot.services.actions import reply_for_action

log = logging.getLogger(__name__)


async def button(update: Update, context: Context) -> None:
    query = update.callback_query
    if query is None:
        return
    viewer = viewer_of(update, context)
    state = state_of(context)
    action = parse_callback(query.data or "", state.callbacks)
    if action is None or isinstance(action, Expired):
        if action is None:
            log.info("unknown callback data %r", query.data)
        await query.answer(text(viewer.lang, "button_expired"))
        return
    await query.answer()
    reply = await reply_for_action(state.db, action, viewer, context.bot.username)
    if isinstance(action, OpenPage) and isinstance(query.message, Message):
        await edit(query.message, context, reply, viewer)
    else:
        await send(update, context, reply, viewer)


def register(application: App) -> None:
    application.add_handler(CallbackQueryHandler(button))

"""Button presses: page turns edit the message in place, the rest answer with a new message."""

from __future__ import annotations

import logging

from telegram import Message, Update
from telegram.ext import Application, CallbackQueryHandler

from bot.handlers.common import Context, edit, send, state_of, viewer_of
from bot.handlers.start import help_reply
from bot.i18n import text
from bot.render.keyboards import (
    Expired,
    OpenArticle,
    OpenCategory,
    OpenMenu,
    OpenPage,
    OpenTag,
    parse_callback,
)
from bot.services import articles, browse
from bot.services.replies import PageQuery, Reply, Viewer
from bot.services.search import open_page
from bot.services.trending import trending_terms

log = logging.getLogger(__name__)


async def menu_reply(name: str, context: Context, viewer: Viewer) -> Reply:
    db = state_of(context).db
    if name == "categories":
        return await browse.categories(db)
    if name == "tags":
        return await browse.tags(db)
    if name == "trending":
        return await trending_terms(db, limit=5 if viewer.in_group else 10)
    if name == "help":
        return help_reply(viewer.is_admin, context.bot.username)
    return await open_page(db, PageQuery("latest"), viewer)


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
        await query.answer(text(viewer.lang, "button_expired"), show_alert=False)
        return
    await query.answer()
    if isinstance(action, OpenPage):
        page = await open_page(state.db, action.page, viewer)
        if isinstance(query.message, Message):
            await edit(query.message, context, page, viewer)
        else:
            await send(update, context, page, viewer)
        return
    reply: Reply
    if isinstance(action, OpenCategory):
        reply = await articles.open_category(state.db, action.slug, viewer)
    elif isinstance(action, OpenTag):
        reply = await articles.open_tag(state.db, action.name, viewer)
    elif isinstance(action, OpenArticle):
        reply = await articles.show_article(state.db, action.key)
    else:
        assert isinstance(action, OpenMenu)
        reply = await menu_reply(action.name, context, viewer)
    await send(update, context, reply, viewer)


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(CallbackQueryHandler(button))

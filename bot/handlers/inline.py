"""Inline mode: `@bot 关键词` in any chat, ten results at a time with `next_offset`."""

from __future__ import annotations

from telegram import (
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    Update,
)
from telegram.ext import InlineQueryHandler

from bot.handlers.common import App, Context, render_context, state_of, viewer_of
from bot.i18n import text
from bot.render.html import render_inline
from bot.services.search import inline_search

CACHE_SECONDS = 60


async def inline_query(update: Update, context: Context) -> None:
    query = update.inline_query
    if query is None:
        return
    viewer = viewer_of(update, context)
    page = await inline_search(state_of(context).db, query.query, query.offset)
    ctx = render_context(viewer, context)
    results = []
    for result in page.results:
        article = render_inline(result, ctx)
        results.append(
            InlineQueryResultArticle(
                id=article.id,
                title=article.title,
                description=article.description,
                url=article.url,
                input_message_content=InputTextMessageContent(article.html),
            )
        )
    hint = None
    if not page.results and not query.offset:
        hint = text(viewer.lang, "inline_none", query=page.query[:40])
    elif not page.query:
        hint = text(viewer.lang, "inline_empty")
    await query.answer(
        results,
        next_offset=page.next_offset,
        cache_time=CACHE_SECONDS,
        is_personal=False,
        button=InlineQueryResultsButton(text=hint, start_parameter="inline") if hint else None,
    )


def register(application: App) -> None:
    application.add_handler(InlineQueryHandler(inline_query))

"""Inline mode: `@bot 关键词` in any chat, ten results at a time with `next_offset`."""

from __future__ import annotations

from telegram import InlineQueryResultArticle, InputTextMessageContent, Update
from telegram.ext import Application, InlineQueryHandler

from bot.handlers.common import Context, render_context, state_of, viewer_of
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
    await query.answer(
        results, next_offset=page.next_offset, cache_time=CACHE_SECONDS, is_personal=False
    )


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(InlineQueryHandler(inline_query))

"""Telegram handlers, one module per feature; each parses an update, calls a service, replies."""

from __future__ import annotations

from telegram.ext import Application

from bot.handlers import (
    admin,
    browse,
    callbacks,
    errors,
    inline,
    latest,
    search,
    start,
    trending,
)


def register_all(application: Application) -> None:  # type: ignore[type-arg]
    for feature in (start, latest, search, browse, trending, admin, inline, callbacks):
        feature.register(application)
    errors.register_unknown(application)
    search.register_plain_text(application)
    errors.register_error_handler(application)

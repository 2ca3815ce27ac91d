"""Telegram handlers, one module per feature; each parses an update, calls a service, replies."""

from __future__ import annotations

from bot.handlers import admin, browse, callbacks, errors, inline, search, start
from bot.handlers.common import App


def register_all(application: App) -> None:
    for feature in (start, search, browse, admin, inline, callbacks):
        feature.register(application)
    errors.register(application)
    search.register_plain_text(application)

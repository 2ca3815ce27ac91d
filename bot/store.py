"""The store the settings name: the primary, and its read replica when one is set."""

from __future__ import annotations

from typing import Any

from bot.settings import Settings
from storage.db import Database


def database_of(settings: Settings, **engine_kwargs: Any) -> Database:
    return Database(
        settings.database.url,
        read_url=settings.database.read_url or None,
        read_after_write=settings.database.read_after_write,
        **engine_kwargs,
    )

"""Fixtures for the bot tests (loaded with `pytest_plugins = ["bot_fixtures"]`)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from bot_harness import Conversation, bot_settings, build_store
from fakebotapi import FakeBotAPI

from bot.app import build_application


@pytest.fixture(scope="session")
def corpus_store(corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The corpus ingested once through the real pipeline; tests work on copies."""
    path = tmp_path_factory.mktemp("corpus-store") / "corpus.db"
    asyncio.run(build_store(path, [str(corpus_dir)]))
    return path


@pytest.fixture
def store_copy(corpus_store: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "store.db"
    shutil.copy(corpus_store, copy)
    return copy


@pytest.fixture
def api() -> Iterator[FakeBotAPI]:
    with FakeBotAPI() as fake:
        yield fake


@pytest.fixture
async def conversation(api: FakeBotAPI, store_copy: Path) -> AsyncIterator[Conversation]:
    """The real application, built by the factory, initialized against the fake server."""
    settings = bot_settings(api, f"sqlite+aiosqlite:///{store_copy}")
    application = build_application(settings)
    async with application:
        assert application.post_init is not None
        await application.post_init(application)
        await application.start()
        yield Conversation(api, application)
        await application.stop()
        assert application.post_shutdown is not None
        await application.post_shutdown(application)

"""Driving the real bot `Application` against the fake Bot API: a store built once from the
corpus, and a conversation helper that sends updates and returns the calls they caused."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from fakebotapi import Call, FakeBotAPI
from telegram import Update
from telegram.ext import Application
from telegram.request import BaseRequest, RequestData

from bot.ingest.pipeline import ingest
from bot.settings import Settings, load_settings
from storage.db import Database

TOKEN = "123456:TEST-TOKEN"
ADMIN_ID = 9001
USER_ID = 4242
GROUP_ID = -1001234567890


DEMO_DIR = Path(__file__).resolve().parent.parent / "bot" / "demo"


def bot_settings(api: FakeBotAPI, database_url: str, **overrides: Any) -> Settings:
    """The bot's settings for tests; local sources may come from the demo folder, and URLs
    from the test servers on 127.0.0.1."""
    overrides.setdefault("local_source_roots", [str(DEMO_DIR)])
    overrides.setdefault("allow_private_sources", True)
    return load_settings(
        telegram={"token": TOKEN, "base_url": api.base_url},
        database={"url": database_url},
        admin={"ids": [ADMIN_ID]},
        **overrides,
    )


async def build_store(path: Path, sources: list[str]) -> None:
    db = Database(f"sqlite+aiosqlite:///{path}")
    await db.upgrade()
    report = await ingest(db, sources, settings=load_settings())
    await db.dispose()
    assert not report.failed, report.failed


class Conversation:
    """Sends updates into the application and returns the Bot API calls each one caused."""

    def __init__(self, api: FakeBotAPI, application: Application) -> None:  # type: ignore[type-arg]
        self.api = api
        self.application = application

    async def _feed(self, update: dict[str, Any]) -> list[Call]:
        before = len(self.api.calls)
        await self.application.process_update(Update.de_json(update, self.application.bot))
        return self.api.calls[before:]

    async def say(
        self, text: str, *, chat_id: int = USER_ID, user_id: int = USER_ID, lang: str = "zh-hans"
    ) -> list[Call]:
        user = self.api.user(user_id, language_code=lang)
        return await self._feed(self.api.message_update(chat_id, user, text))

    async def press(
        self, message: Call, data: str, *, user_id: int = USER_ID, lang: str = "zh-hans"
    ) -> list[Call]:
        """Press the button with callback `data` under a message the bot sent."""
        user = self.api.user(user_id, language_code=lang)
        sent = message.response["result"]
        return await self._feed(self.api.callback_update(user, sent, data))

    async def inline(
        self, query: str, offset: str = "", *, user_id: int = USER_ID, lang: str = "zh-hans"
    ) -> list[Call]:
        user = self.api.user(user_id, language_code=lang)
        return await self._feed(self.api.inline_update(user, query, offset))


def only(calls: list[Call], method: str) -> list[Call]:
    return [call for call in calls if call.method == method]


def buttons(call: Call) -> list[dict[str, Any]]:
    markup = call.params.get("reply_markup") or {}
    return [button for row in markup.get("inline_keyboard", []) for button in row]


def button_data(call: Call) -> list[str]:
    return [b["callback_data"] for b in buttons(call) if "callback_data" in b]


class RecordingRequest(BaseRequest):
    """A Bot API transport inside the test process: records every call; a subclass answers."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @property
    def read_timeout(self) -> float:
        return 5.0

    def answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """The HTTP status and JSON body Telegram would send for `method`."""
        raise NotImplementedError

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        self.calls.append((name, params))
        status, body = self.answer(name, params)
        return status, json.dumps(body).encode()


def bot_env(api: FakeBotAPI | None, database: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    env.update(NEWSBOT_DATABASE_URL=f"sqlite+aiosqlite:///{database}", **extra)
    if api is not None:
        env.update(
            NEWSBOT_TELEGRAM_TOKEN=TOKEN,
            NEWSBOT_TELEGRAM_BASE_URL=api.base_url,
            NEWSBOT_ADMIN_IDS=str(ADMIN_ID),
        )
    return env


def newsbot(*args: str) -> list[str]:
    """The installed `newsbot` script of this environment (the module when not installed)."""
    script = Path(sys.executable).with_name("newsbot")
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "bot.cli.main", *args]


def start_bot(*args: str, env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    """`newsbot <args>` as a child process, its output captured as text."""
    return subprocess.Popen(
        newsbot(*args), env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port

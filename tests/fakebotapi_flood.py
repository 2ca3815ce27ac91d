"""A fake Bot API on 127.0.0.1 that enforces Telegram's flood limits and fails on demand.

It answers `getMe` and `sendMessage` like Telegram: 429 with `retry_after` past the global
per-second limit or a group's per-minute limit, 403 for chats told to be `forbidden`, 400 with
`migrate_to_chat_id` for chats told to `migrate`, 400 for chats told to reject and for HTML
outside Telegram's subset. Everything accepted is recorded with its arrival time.
"""

from __future__ import annotations

import math
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

TOKEN = "123456:FLOOD-TEST"
BOT_ID = 123456
ALLOWED_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
    "span", "tg-spoiler", "blockquote", "tg-emoji",
}  # fmt: skip


class _TelegramHTML(HTMLParser):
    """Rejects tags outside Telegram's subset and tags left open or closed twice."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.error: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.error = self.error or f'unsupported start tag "{tag}"'
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.error = self.error or f'unexpected end tag "{tag}"'
            return
        self.open.pop()


def html_error(text: str) -> str | None:
    parser = _TelegramHTML()
    parser.feed(text)
    parser.close()
    if parser.error is None and parser.open:
        parser.error = f'unclosed start tag "{parser.open[-1]}"'
    return parser.error


@dataclass(frozen=True, slots=True)
class Sent:
    chat_id: int
    thread_id: int | None
    text: str
    at: float
    message_id: int


@dataclass
class FloodFakeBotAPI:
    per_second: int = 30
    group_per_minute: int = 20
    group_window: float = 60.0
    forbidden: dict[int, str] = field(default_factory=dict)
    migrate: dict[int, int] = field(default_factory=dict)
    reject: dict[int, str] = field(default_factory=dict)
    sent: list[Sent] = field(default_factory=list)
    too_many_requests: int = 0
    calls: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._global: deque[float] = deque()
        self._groups: dict[int, deque[float]] = {}
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    def _reply(self, result: Any) -> JSONResponse:
        return JSONResponse({"ok": True, "result": result})

    def _error(self, code: int, description: str, **parameters: Any) -> JSONResponse:
        body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if parameters:
            body["parameters"] = parameters
        return JSONResponse(body, status_code=code)

    async def _endpoint(self, request: Request) -> JSONResponse:
        if request.path_params["token"] != TOKEN:
            return self._error(401, "Unauthorized")
        method = request.path_params["method"]
        self.calls.append(method)
        if method == "getMe":
            return self._reply(
                {"id": BOT_ID, "is_bot": True, "first_name": "News", "username": "news_test_bot"}
            )
        if method == "sendMessage":
            form = parse_qs((await request.body()).decode(), keep_blank_values=True)
            return self._send_message({key: values[-1] for key, values in form.items()})
        return self._error(404, "Not Found: method not found")

    def _send_message(self, params: dict[str, str]) -> JSONResponse:
        chat_id = int(params["chat_id"])
        thread = int(params["message_thread_id"]) if "message_thread_id" in params else None
        text = params.get("text", "")
        if chat_id in self.forbidden:
            return self._error(403, f"Forbidden: {self.forbidden[chat_id]}")
        if chat_id in self.migrate:
            return self._error(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                migrate_to_chat_id=self.migrate[chat_id],
            )
        if chat_id in self.reject:
            return self._error(400, f"Bad Request: {self.reject[chat_id]}")
        if params.get("parse_mode") == "HTML" and (problem := html_error(text)):
            return self._error(400, f"Bad Request: can't parse entities: {problem}")
        with self._lock:
            now = time.monotonic()
            wait = self._flood_wait(chat_id, now)
            if wait:
                self.too_many_requests += 1
                return self._error(429, f"Too Many Requests: retry after {wait}", retry_after=wait)
            self._global.append(now)
            if chat_id < 0:
                self._groups.setdefault(chat_id, deque()).append(now)
            message = Sent(chat_id, thread, text, now, len(self.sent) + 1)
            self.sent.append(message)
        chat_type = "private" if chat_id > 0 else "supergroup"
        return self._reply(
            {
                "message_id": message.message_id,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": chat_type},
                "text": text,
            }
        )

    def _flood_wait(self, chat_id: int, now: float) -> int:
        """Seconds to wait, or 0 when one more message fits in every window."""
        while self._global and self._global[0] <= now - 1.0:
            self._global.popleft()
        if len(self._global) >= self.per_second:
            return max(1, math.ceil(self._global[0] + 1.0 - now))
        sent = self._groups.get(chat_id)
        if sent is not None:
            while sent and sent[0] <= now - self.group_window:
                sent.popleft()
            if len(sent) >= self.group_per_minute:
                return max(1, math.ceil(sent[0] + self.group_window - now))
        return 0

    def max_in_window(self, seconds: float, chat_id: int | None = None) -> int:
        """The most messages accepted within any `seconds`-long window (for one chat if given)."""
        times = [m.at for m in self.sent if chat_id is None or m.chat_id == chat_id]
        best, start = 0, 0
        for end, at in enumerate(times):
            while at - times[start] >= seconds:
                start += 1
            best = max(best, end - start + 1)
        return best

    def start(self) -> FloodFakeBotAPI:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        app = Starlette(routes=[Route("/bot{token}/{method}", self._endpoint, methods=["POST"])])
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the fake Bot API did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)

    def __enter__(self) -> FloodFakeBotAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

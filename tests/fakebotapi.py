"""A fake Telegram Bot API on 127.0.0.1 for the bot and push tests and benchmarks: it records
every call (and every accepted message with the moment it was accepted), long-polls updates,
validates Telegram's HTML subset like the real server, and can be told to misbehave.

    with FakeBotAPI() as api:
        settings.telegram.base_url = api.base_url      # http://127.0.0.1:PORT/bot
        api.push_update(api.message_update(chat, user, "/start"))
        api.wait_for(lambda call: call.method == "sendMessage")

Off by default, on request: flood limits (`flood_limits=True`: 30 messages/s overall, 20 per
60 s window per group chat, each configurable, answered with 429 and `parameters.retry_after`),
a token check (`token_required`, else 401), and per chat `Forbidden`, `migrate_to_chat_id` for
a group that became a supergroup, or any other `Bad Request`.
"""

from __future__ import annotations

import html
import itertools
import json
import math
import re
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import anyio
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

BOT_ID = 7000001
BOT_USERNAME = "newsbot_test_bot"
TOKEN = "123456:FAKE-TOKEN"
MAX_TEXT = 4096
GLOBAL_PER_SECOND = 30
GROUP_PER_MINUTE = 20
GROUP_WINDOW = 60.0

# Telegram's HTML subset: tag → attributes it accepts (None: any value; a set: those values).
ALLOWED_TAGS: dict[str, dict[str, set[str] | None]] = {
    "b": {},
    "strong": {},
    "i": {},
    "em": {},
    "u": {},
    "ins": {},
    "s": {},
    "strike": {},
    "del": {},
    "span": {"class": {"tg-spoiler"}},
    "tg-spoiler": {},
    "a": {"href": None},
    "code": {"class": None},
    "pre": {},
    "blockquote": {"expandable": None},
    "tg-emoji": {"emoji-id": None},
}
REQUIRED_ATTRIBUTES = {"a": "href", "span": "class", "tg-emoji": "emoji-id"}
_TAG = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z][a-zA-Z0-9_-]*"
    r"(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>\"']+))?)*)\s*>"
)
_ATTRIBUTE = re.compile(r"([a-zA-Z][a-zA-Z0-9_-]*)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>\"']+))?")
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});")
_KEEP_AS_TEXT = {
    "text",
    "caption",
    "query",
    "next_offset",
    "callback_query_id",
    "inline_query_id",
    "inline_message_id",
    "url",
    "secret_token",
    "parse_mode",
    "language_code",
}


class EntityError(ValueError):
    """Telegram's `Bad Request: can't parse entities: …`."""


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def parse_telegram_html(text: str) -> str:
    """The plain text Telegram would show, or EntityError for HTML Telegram would reject."""
    out: list[str] = []
    stack: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "<":
            match = _TAG.match(text, i)
            offset = len(text[:i].encode("utf-8"))
            if match is None:
                raise EntityError(f"Unclosed start tag at byte offset {offset}")
            closing, name, attributes = match.group(1), match.group(2).lower(), match.group(3)
            if closing:
                if attributes.strip():
                    raise EntityError(f"Unexpected attributes in end tag at byte offset {offset}")
                if not stack:
                    raise EntityError(f'Unexpected end tag "{name}" at byte offset {offset}')
                if stack[-1] != name:
                    raise EntityError(
                        f"Unmatched end tag at byte offset {offset}, "
                        f'expected "</{stack[-1]}>", found "</{name}>"'
                    )
                stack.pop()
            else:
                _check_start_tag(name, attributes, offset)
                stack.append(name)
            i = match.end()
        elif char == "&":
            match = _ENTITY.match(text, i)
            if match is None:
                offset = len(text[:i].encode("utf-8"))
                raise EntityError(f"Unsupported HTML entity at byte offset {offset}")
            decoded = html.unescape(match.group(0))
            if match.group(1).startswith("#") and not _valid_code_point(match.group(1)):
                raise EntityError(f"Invalid character reference {match.group(0)}")
            out.append(decoded)
            i = match.end()
        elif char == ">":
            offset = len(text[:i].encode("utf-8"))
            raise EntityError(f'Unescaped ">" at byte offset {offset}')
        else:
            out.append(char)
            i += 1
    if stack:
        raise EntityError(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(out)


def _valid_code_point(reference: str) -> bool:
    number = int(reference[2:], 16) if reference[1:2] in {"x", "X"} else int(reference[1:])
    return 0 < number <= 0x10FFFF and not 0xD800 <= number <= 0xDFFF


def _check_start_tag(name: str, attributes: str, offset: int) -> None:
    allowed = ALLOWED_TAGS.get(name)
    if allowed is None:
        raise EntityError(f'Unsupported start tag "{name}" at byte offset {offset}')
    seen: dict[str, str] = {}
    for attribute in _ATTRIBUTE.finditer(attributes):
        key, raw = attribute.group(1).lower(), attribute.group(2)
        value = html.unescape(raw.strip("\"'")) if raw else ""
        if key not in allowed:
            raise EntityError(f'Unsupported attribute "{key}" of tag "{name}"')
        values = allowed[key]
        if values is not None and value not in values:
            raise EntityError(f'Unsupported value "{value}" of attribute "{key}" of tag "{name}"')
        seen[key] = value
    required = REQUIRED_ATTRIBUTES.get(name)
    if required and not seen.get(required):
        raise EntityError(f'Tag "{name}" must have attribute "{required}"')


def html_error(text: str) -> str | None:
    """Why Telegram would reject `text` as HTML, or None when it is valid."""
    try:
        parse_telegram_html(text)
    except EntityError as exc:
        return str(exc)
    return None


def validate_message_text(text: str, parse_mode: str | None) -> str:
    """The shown text of a message, or EntityError/ValueError with Telegram's description."""
    shown = parse_telegram_html(text) if (parse_mode or "").upper() == "HTML" else text
    if not shown.strip():
        raise ValueError("Bad Request: message text is empty")
    if utf16_length(shown) > MAX_TEXT:
        raise ValueError("Bad Request: message is too long")
    return shown


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    status: int
    response: dict[str, Any]
    at: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass(frozen=True, slots=True)
class Sent:
    """A message the fake accepted: its HTML as the bot sent it, at the moment it was accepted
    (the moment the flood limits counted)."""

    chat_id: int
    thread_id: int | None
    text: str
    at: float
    message_id: int


class ApiError(Exception):
    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


def _chat_type(chat_id: int) -> str:
    if chat_id > 0:
        return "private"
    return "supergroup" if str(chat_id).startswith("-100") else "group"


class FakeBotAPI:
    """The fake server; use as a context manager, or `start()` and `stop()`."""

    def __init__(
        self,
        *,
        token_required: str | None = None,
        flood_limits: bool = False,
        global_per_second: int = GLOBAL_PER_SECOND,
        group_per_minute: int = GROUP_PER_MINUTE,
        group_window: float = GROUP_WINDOW,
    ) -> None:
        self.token_required = token_required
        self.flood_limits = flood_limits
        self.global_per_second = global_per_second
        self.group_per_minute = group_per_minute
        self.group_window = group_window
        self.calls: list[Call] = []
        self.sent: list[Sent] = []
        self.updates: list[dict[str, Any]] = []
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.chats: dict[int, dict[str, Any]] = {}
        self.members: dict[tuple[int, int], str] = {}
        self.failures: dict[int, ApiError] = {}
        self._sent_times: deque[float] = deque()
        self._group_times: dict[int, deque[float]] = defaultdict(deque)
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, Iterator[int]] = defaultdict(lambda: itertools.count(1))
        self._callback_ids = itertools.count(1)
        self._condition = threading.Condition()
        self._closing = False
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self.polls = 0
        self.first_poll_at: float | None = None
        self.handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "answerCallbackQuery": lambda params: True,
            "answerInlineQuery": self._answer_inline_query,
            "setMyCommands": self._set_my_commands,
            "deleteMyCommands": lambda params: True,
            "deleteWebhook": lambda params: True,
            "setWebhook": lambda params: True,
            "getChatMember": self._get_chat_member,
            "getChat": self._get_chat,
            "deleteMessage": self._delete_message,
        }

    # -- running -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    def start(self) -> FakeBotAPI:
        # IPPROTO_TCP spelled out, or asyncio leaves Nagle on for accepted connections and
        # every answer waits ~40 ms for a delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        app = Starlette(
            routes=[Route("/bot{token}/{method}", self._endpoint, methods=["POST", "GET"])]
        )
        config = uvicorn.Config(
            app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the fake Bot API did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        with self._condition:
            self._closing = True
            self._condition.notify_all()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeBotAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what tests do -------------------------------------------------------------------

    def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        with self._condition:
            self.updates.append(update)
            self._condition.notify_all()
        return update

    def calls_to(self, method: str) -> list[Call]:
        with self._condition:
            return [call for call in self.calls if call.method == method]

    def sent_to(self, chat_id: int) -> list[Call]:
        return [
            call
            for call in self.calls_to("sendMessage")
            if call.ok and int(call.params["chat_id"]) == chat_id
        ]

    def wait_for(
        self, predicate: Callable[[Call], bool], *, count: int = 1, timeout: float = 15.0
    ) -> list[Call]:
        """Block until `count` recorded calls satisfy the predicate; they are returned."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while True:
                matching = [call for call in self.calls if predicate(call)]
                if len(matching) >= count:
                    return matching
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [c.method for c in self.calls]
                    raise TimeoutError(f"waited {timeout}s for {count} calls; saw {seen}")
                self._condition.wait(left)

    def wait_for_poll(self, timeout: float = 15.0) -> float:
        """Block until the bot has long-polled `getUpdates` once; the monotonic time it did."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while self.first_poll_at is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"the bot did not poll within {timeout}s")
                self._condition.wait(left)
            return self.first_poll_at

    @property
    def too_many_requests(self) -> int:
        """How many calls were refused with 429."""
        with self._condition:
            return sum(1 for call in self.calls if call.status == 429)

    def max_in_window(self, seconds: float, chat_id: int | None = None) -> int:
        """The most messages accepted within any `seconds`-long window (for one chat if given)."""
        with self._condition:
            times = [m.at for m in self.sent if chat_id is None or m.chat_id == chat_id]
        best, start = 0, 0
        for end, at in enumerate(times):
            while at - times[start] >= seconds:
                start += 1
            best = max(best, end - start + 1)
        return best

    def forbid(self, chat_id: int, description: str = "bot was kicked from the group chat") -> None:
        self.failures[chat_id] = ApiError(403, f"Forbidden: {description}")

    def migrate(self, chat_id: int, new_chat_id: int) -> None:
        self.failures[chat_id] = ApiError(
            400,
            "Bad Request: group chat was upgraded to a supergroup chat",
            {"migrate_to_chat_id": new_chat_id},
        )

    def reject(self, chat_id: int, description: str) -> None:
        """Answer every call aimed at the chat with `Bad Request: <description>`."""
        self.failures[chat_id] = ApiError(400, f"Bad Request: {description}")

    def set_member(self, chat_id: int, user_id: int, status: str) -> None:
        self.members[(chat_id, user_id)] = status

    # -- building updates --------------------------------------------------------------------

    @staticmethod
    def user(
        user_id: int, first_name: str = "Test", language_code: str = "zh-hans"
    ) -> dict[str, Any]:
        return {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": language_code,
        }

    def chat(self, chat_id: int, title: str | None = None) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": chat_id, "type": _chat_type(chat_id)}
        if chat_id < 0:
            chat["title"] = title or f"Group {chat_id}"
        chat.update(self.chats.get(chat_id, {}))
        return chat

    def message_update(
        self, chat_id: int, user: dict[str, Any], text: str, *, thread_id: int | None = None
    ) -> dict[str, Any]:
        """A text message; a leading `/command` gets its `bot_command` entity, as from Telegram."""
        message: dict[str, Any] = {
            "message_id": next(self._message_ids[chat_id]),
            "date": int(time.time()),
            "chat": self.chat(chat_id),
            "from": user,
            "text": text,
        }
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_length(command)}
            ]
        if thread_id is not None:
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
        return {"update_id": next(self._update_ids), "message": message}

    def callback_update(
        self, user: dict[str, Any], message: dict[str, Any], data: str
    ) -> dict[str, Any]:
        """A press of a button under `message` (a message this fake returned to the bot)."""
        return {
            "update_id": next(self._update_ids),
            "callback_query": {
                "id": str(next(self._callback_ids)),
                "from": user,
                "message": message,
                "chat_instance": str(message["chat"]["id"]),
                "data": data,
            },
        }

    def inline_update(self, user: dict[str, Any], query: str, offset: str = "") -> dict[str, Any]:
        return {
            "update_id": next(self._update_ids),
            "inline_query": {
                "id": str(next(self._callback_ids)),
                "from": user,
                "query": query,
                "offset": offset,
                "chat_type": "private",
            },
        }

    # -- the HTTP side -------------------------------------------------------------------

    async def _endpoint(self, request: Request) -> JSONResponse:
        method = request.path_params["method"]
        token = request.path_params["token"]
        params = await self._params(request)
        if self.token_required is not None and token != self.token_required:
            status, body = 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
            self._record(method, params, status, body)
            return JSONResponse(body, status_code=status)
        status, body = await anyio.to_thread.run_sync(self._dispatch, method, params)
        return JSONResponse(body, status_code=status)

    @staticmethod
    async def _params(request: Request) -> dict[str, Any]:
        """JSON bodies as they are; form fields (what PTB sends) JSON-decoded where they parse."""
        body = (await request.body()).decode("utf-8")
        if request.headers.get("content-type", "").startswith("application/json"):
            return dict(json.loads(body)) if body else {}
        params: dict[str, Any] = {}
        for key, value in parse_qsl(body, keep_blank_values=True):
            if key in _KEEP_AS_TEXT:
                params[key] = value
                continue
            try:
                params[key] = json.loads(value)
            except ValueError:
                params[key] = value
        return params

    def _dispatch(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        handler = self.handlers.get(method)
        try:
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            result = handler(params)
            status, body = 200, {"ok": True, "result": result}
        except ApiError as exc:
            body = {"ok": False, "error_code": exc.status, "description": exc.description}
            if exc.parameters:
                body["parameters"] = exc.parameters
            status = exc.status
        if method != "getUpdates" or body.get("result"):
            self._record(method, params, status, body)
        return status, body

    def _record(
        self, method: str, params: dict[str, Any], status: int, body: dict[str, Any]
    ) -> None:
        with self._condition:
            self.calls.append(Call(method, params, status, body))
            self._condition.notify_all()

    # -- methods -------------------------------------------------------------------------

    def _bot_user(self) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "NewsBot",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
        }

    def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._bot_user()

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = min(float(params.get("timeout") or 0), 30.0)
        deadline = time.monotonic() + timeout
        with self._condition:
            self.polls += 1
            if self.first_poll_at is None:
                self.first_poll_at = time.monotonic()
            self._condition.notify_all()
            while True:
                if offset:
                    self.updates = [u for u in self.updates if u["update_id"] >= offset]
                pending = [u for u in self.updates if u["update_id"] >= offset][:limit]
                left = deadline - time.monotonic()
                if pending or left <= 0 or self._closing:
                    return pending
                self._condition.wait(min(left, 0.5))

    def _target_chat(self, params: dict[str, Any]) -> int:
        try:
            chat_id = int(params["chat_id"])
        except (KeyError, TypeError, ValueError):
            raise ApiError(400, "Bad Request: chat not found") from None
        failure = self.failures.get(chat_id)
        if failure is not None:
            raise ApiError(failure.status, failure.description, failure.parameters)
        return chat_id

    def _accept(self, chat_id: int, thread_id: int | None, text: str) -> Sent:
        """Count the message against the flood limits (429 past them) and record it."""
        with self._condition:
            now = time.monotonic()
            if self.flood_limits:
                self._check_flood(chat_id, now)
            message = Sent(chat_id, thread_id, text, now, next(self._message_ids[chat_id]))
            self.sent.append(message)
            return message

    def _check_flood(self, chat_id: int, now: float) -> None:
        while self._sent_times and now - self._sent_times[0] >= 1.0:
            self._sent_times.popleft()
        group = self._group_times[chat_id]
        while group and now - group[0] >= self.group_window:
            group.popleft()
        if len(self._sent_times) >= self.global_per_second:
            raise _flood(1.0 - (now - self._sent_times[0]))
        if chat_id < 0 and len(group) >= self.group_per_minute:
            raise _flood(self.group_window - (now - group[0]))
        self._sent_times.append(now)
        if chat_id < 0:
            group.append(now)

    @staticmethod
    def _shown_text(params: dict[str, Any]) -> str:
        try:
            return validate_message_text(str(params.get("text", "")), params.get("parse_mode"))
        except EntityError as exc:
            raise ApiError(400, f"Bad Request: can't parse entities: {exc}") from None
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._target_chat(params)
        shown = self._shown_text(params)
        thread = params.get("message_thread_id")
        accepted = self._accept(chat_id, None if thread is None else int(thread), params["text"])
        message: dict[str, Any] = {
            "message_id": accepted.message_id,
            "date": int(time.time()),
            "chat": self.chat(chat_id),
            "from": self._bot_user(),
            "text": shown,
        }
        if accepted.thread_id is not None:
            message["message_thread_id"] = accepted.thread_id
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        with self._condition:
            self.messages[(chat_id, message["message_id"])] = dict(message, html=params["text"])
        return message

    def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        shown = self._shown_text(params)
        if params.get("inline_message_id"):
            return True
        chat_id = self._target_chat(params)
        key = (chat_id, int(params.get("message_id") or 0))
        with self._condition:
            stored = self.messages.get(key)
            if stored is None:
                raise ApiError(400, "Bad Request: message to edit not found")
            if stored["html"] == params["text"] and stored.get("reply_markup") == params.get(
                "reply_markup"
            ):
                raise ApiError(
                    400,
                    "Bad Request: message is not modified: specified new message content and "
                    "reply markup are exactly the same as a current content and reply markup "
                    "of the message",
                )
            stored.update(text=shown, html=params["text"], edit_date=int(time.time()))
            if params.get("reply_markup"):
                stored["reply_markup"] = params["reply_markup"]
            else:
                stored.pop("reply_markup", None)
            return {k: v for k, v in stored.items() if k != "html"}

    def _delete_message(self, params: dict[str, Any]) -> bool:
        chat_id = self._target_chat(params)
        with self._condition:
            return (
                self.messages.pop((chat_id, int(params.get("message_id") or 0)), None) is not None
            )

    def _answer_inline_query(self, params: dict[str, Any]) -> bool:
        results = params.get("results") or []
        if len(results) > 50:
            raise ApiError(400, "Bad Request: RESULTS_TOO_MUCH")
        if len(str(params.get("next_offset", "")).encode("utf-8")) > 64:
            raise ApiError(400, "Bad Request: NEXT_OFFSET_INVALID")
        button = params.get("button")
        if button is not None and not (
            button.get("text")
            and (
                "web_app" in button
                or re.fullmatch(r"[A-Za-z0-9_-]{1,64}", button.get("start_parameter", ""))
            )
        ):
            raise ApiError(400, "Bad Request: BUTTON_INVALID")
        ids = [str(result.get("id", "")) for result in results]
        if len(set(ids)) != len(ids) or any(not i or len(i.encode()) > 64 for i in ids):
            raise ApiError(400, "Bad Request: RESULT_ID_INVALID")
        for result in results:
            content = result.get("input_message_content") or {}
            self._shown_text(
                {"text": content.get("message_text", ""), "parse_mode": content.get("parse_mode")}
            )
        return True

    def _set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands") or []
        for command in commands:
            name = str(command.get("command", ""))
            description = str(command.get("description", ""))
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        scope = json.dumps(params.get("scope") or {"type": "default"}, sort_keys=True)
        with self._condition:
            self.commands[(scope, str(params.get("language_code") or ""))] = commands
        return True

    def _get_chat_member(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._target_chat(params)
        user_id = int(params["user_id"])
        status = self.members.get((chat_id, user_id), "member")
        user = self._bot_user() if user_id == BOT_ID else self.user(user_id)
        member: dict[str, Any] = {"status": status, "user": user}
        if status == "administrator":
            member.update(
                can_be_edited=False,
                is_anonymous=False,
                can_manage_chat=True,
                can_delete_messages=True,
                can_manage_video_chats=True,
                can_restrict_members=True,
                can_promote_members=False,
                can_change_info=True,
                can_invite_users=True,
                can_post_messages=True,
                can_post_stories=False,
                can_edit_stories=False,
                can_delete_stories=False,
            )
        elif status == "restricted":
            member.update(is_member=True, until_date=0)
        elif status == "kicked":
            member.update(until_date=0)
        return member

    def _get_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            for known, info in self.chats.items():
                if info.get("username", "").lower() == chat_id[1:].lower():
                    return dict(self.chat(known), accent_color_id=0, max_reaction_count=11)
            raise ApiError(400, "Bad Request: chat not found")
        target = self._target_chat(params)
        return dict(self.chat(target), accent_color_id=0, max_reaction_count=11)


def _flood(wait: float) -> ApiError:
    seconds = max(1, math.ceil(wait))
    return ApiError(429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds})

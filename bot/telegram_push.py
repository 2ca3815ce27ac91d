"""The Telegram edge of the push and of subscriptions: PTB's types and errors in, the plain
`bot.push.transport` vocabulary out.

One rate limiter governs pushes: the pusher's `SendGovernor`. It schedules chat by chat (a
group at its 20-a-minute limit waits while other chats keep flowing) and waits out every
`RetryAfter` for all chats at once. PTB's `AIORateLimiter` stays for command replies; pushes
go through a bot of their own (`bot.app`), or, when the `Application`'s bot sends them (an
injected transport), skip it (`ReplyRateLimiter`): it would block the send loop inside one
request and retry `RetryAfter`s itself, so the governor never saw them.
"""

from __future__ import annotations

import time
import warnings
from datetime import timedelta
from functools import partial
from typing import Any

from telegram import Bot, ChatMember, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import AIORateLimiter, ExtBot
from telegram.warnings import PTBDeprecationWarning

from bot.push.governor import SendGovernor
from bot.push.transport import (
    Blocked,
    ChatInfo,
    ChatMoved,
    FloodWait,
    Member,
    Rejected,
    SendError,
    Unreachable,
)

UNLIMITED = -1
"""`rate_limit_args` of a push: `ReplyRateLimiter` passes it straight through."""


class ReplyRateLimiter(AIORateLimiter):
    """`AIORateLimiter` for everything but pushes, which the push governor already paces.

    Telegram's limits are the bot's, replies and pushes together: each message a reply sends
    is counted in the push `governor` too, so a fan-out takes what replies leave of them, and
    a reply never waits for a fan-out (nor for the `RetryAfter` one would provoke)."""

    def __init__(self, governor: SendGovernor | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.governor = governor

    async def process_request(
        self,
        callback: Any,
        args: Any,
        kwargs: Any,
        endpoint: str,
        data: Any,
        rate_limit_args: int | None,
    ) -> Any:
        if rate_limit_args == UNLIMITED:
            return await callback(*args, **kwargs)
        result = await super().process_request(
            callback, args, kwargs, endpoint, data, rate_limit_args
        )
        chat_id = (data or {}).get("chat_id")
        if self.governor is not None and endpoint.startswith("send") and type(chat_id) is int:
            self.governor.record(chat_id, time.monotonic())
        return result


def retry_after(error: RetryAfter) -> float:
    """Seconds Telegram asked us to wait, whichever type this PTB version hands out."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def send_error(error: TelegramError) -> SendError:
    """Telegram's error as the pusher's; the order matters (BadRequest is a NetworkError)."""
    if isinstance(error, RetryAfter):
        return FloodWait(error.message, retry_after(error))
    if isinstance(error, Forbidden):
        return Blocked(error.message)
    if isinstance(error, ChatMigrated):
        return ChatMoved(error.message, int(error.new_chat_id))
    if isinstance(error, BadRequest):
        return Rejected(error.message)
    if isinstance(error, NetworkError):
        return Unreachable(error.message)
    return SendError(f"{type(error).__name__}: {error.message}")


def member_of(member: ChatMember) -> Member:
    return Member(
        status=member.status,
        is_member=bool(getattr(member, "is_member", True)),
        can_send_messages=bool(getattr(member, "can_send_messages", True)),
        can_post_messages=bool(getattr(member, "can_post_messages", False)),
    )


def standalone_messenger(token: str, base_url: str) -> TelegramMessenger:
    """A bot of its own for `newsbot push`, over aiohttp (`bot.telegram_http`), no limiter."""
    from bot.telegram_http import AiohttpRequest

    return TelegramMessenger(Bot(token, base_url=base_url, request=AiohttpRequest()))


class TelegramMessenger:
    """`Transport` and `Chats` over a PTB bot."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    @property
    def bot_id(self) -> int:
        return self.bot.id

    async def send(self, chat_id: int, html: str, *, thread_id: int | None, preview: bool) -> int:
        send = self.bot.send_message
        if isinstance(self.bot, ExtBot):
            send = partial(self.bot.send_message, rate_limit_args=UNLIMITED)
        try:
            sent = await send(
                chat_id=chat_id,
                text=html,
                parse_mode=ParseMode.HTML,
                message_thread_id=thread_id,
                link_preview_options=LinkPreviewOptions(is_disabled=not preview),
            )
        except TelegramError as exc:
            raise send_error(exc) from exc
        return sent.message_id

    async def chat(self, name: str) -> ChatInfo | None:
        try:
            chat = await self.bot.get_chat(name)
        except (BadRequest, Forbidden):
            return None
        return ChatInfo(chat.id, chat.type, chat.username)

    async def member(self, chat_id: int, user_id: int) -> Member | None:
        try:
            return member_of(await self.bot.get_chat_member(chat_id, user_id))
        except (BadRequest, Forbidden):
            return None

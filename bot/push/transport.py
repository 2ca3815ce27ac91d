"""What the push and the subscription service need from a messenger, without naming Telegram.

The Telegram adapter (`bot/telegram_push.py`) implements both protocols and turns Telegram's
errors into the `SendError`s below, so the pusher's retry and pause rules are plain code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

PRIVATE, CHANNEL = "private", "channel"
ADMIN_STATUSES = frozenset({"administrator", "creator"})
BLOCKED = "blocked by the user"
REMOVED = "removed from the chat"
LEFT = "left the chat"
MUTED = "not allowed to send messages"
CANNOT_POST = "not allowed to post in the channel"
FORBIDDEN_PREFIX = "forbidden: "
"""Pause reasons as stored; a `Blocked` send is stored as this prefix and its message."""


class SendError(Exception):
    """A send that failed for good; `message` is what the messenger said."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class FloodWait(SendError):
    """Asked to wait `seconds` before sending anything more (Telegram's RetryAfter)."""

    def __init__(self, message: str, seconds: float) -> None:
        super().__init__(message)
        self.seconds = seconds


class Blocked(SendError):
    """The bot may not write to the chat any more (Forbidden): pause it."""


class ChatMoved(SendError):
    """The group became a supergroup with a new id (ChatMigrated)."""

    def __init__(self, message: str, new_chat_id: int) -> None:
        super().__init__(message)
        self.new_chat_id = new_chat_id


class Rejected(SendError):
    """This message cannot be sent (BadRequest); others to the chat may."""


class Unreachable(SendError):
    """The network failed; the same request may succeed later."""


@dataclass(frozen=True, slots=True)
class Member:
    """Someone's membership of a chat, as far as pushes and permissions care."""

    status: str
    is_member: bool = True
    can_send_messages: bool = True
    can_post_messages: bool = False


@dataclass(frozen=True, slots=True)
class ChatInfo:
    id: int
    type: str
    username: str | None = None


class Transport(Protocol):
    async def send(self, chat_id: int, html: str, *, thread_id: int | None, preview: bool) -> int:
        """Send one HTML message; its message id, or a `SendError`."""


class Chats(Protocol):
    @property
    def bot_id(self) -> int: ...

    async def chat(self, name: str) -> ChatInfo | None:
        """The chat called `name` (`@channel`), None when it is unknown or hidden from us."""

    async def member(self, chat_id: int, user_id: int) -> Member | None:
        """The user's membership of the chat; None when we may not ask."""

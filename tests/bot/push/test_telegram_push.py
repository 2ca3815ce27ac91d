"""The Telegram adapter of the push: PTB's errors and members mapped to the transport's, and
pushes passing the replies' rate limiter untouched."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from telegram import ChatMember
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.push.governor import SendGovernor
from bot.push.transport import (
    Blocked,
    ChatMoved,
    FloodWait,
    Rejected,
    SendError,
    Unreachable,
)
from bot.telegram_push import UNLIMITED, ReplyRateLimiter, TelegramMessenger, member_of, send_error


@pytest.mark.parametrize(
    ("error", "kind", "message"),
    [
        (
            Forbidden("Forbidden: bot was blocked by the user"),
            Blocked,
            "bot was blocked by the user",
        ),
        (BadRequest("Bad Request: message thread not found"), Rejected, "Message thread not found"),
        (TimedOut(), Unreachable, "Timed out"),
        (NetworkError("httpx.ConnectError: refused"), Unreachable, "httpx.ConnectError: refused"),
        (Conflict("terminated by other getUpdates"), SendError, "Conflict: terminated by other"),
    ],
)
def test_telegram_errors_become_the_transports(
    error: TelegramError, kind: type[SendError], message: str
) -> None:
    mapped = send_error(error)
    assert type(mapped) is kind
    assert message in mapped.message


def test_a_flood_answer_keeps_its_wait_and_a_migration_its_new_chat() -> None:
    flood = send_error(RetryAfter(timedelta(seconds=7)))
    assert isinstance(flood, FloodWait) and flood.seconds == 7.0
    moved = send_error(ChatMigrated(-100123))
    assert isinstance(moved, ChatMoved) and moved.new_chat_id == -100123


class RaisingBot:
    """Stands in for PTB's `Bot`: each send raises the next error given."""

    def __init__(self, *errors: TelegramError) -> None:
        self.errors = list(errors)
        self.calls: list[dict[str, Any]] = []

    async def send_message(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        raise self.errors.pop(0)


async def test_the_messenger_raises_the_mapped_error_with_telegrams_as_its_cause() -> None:
    bot = RaisingBot(Forbidden("Forbidden: bot was kicked"), ChatMigrated(-5))
    messenger = TelegramMessenger(bot)  # type: ignore[arg-type]
    with pytest.raises(Blocked) as blocked:
        await messenger.send(1, "<b>x</b>", thread_id=None, preview=True)
    assert isinstance(blocked.value.__cause__, Forbidden)
    with pytest.raises(ChatMoved):
        await messenger.send(-1, "x", thread_id=4, preview=False)
    assert bot.calls[1]["message_thread_id"] == 4
    assert bot.calls[1]["link_preview_options"].is_disabled
    assert "rate_limit_args" not in bot.calls[0]


async def test_pushes_skip_the_reply_limiter_and_replies_do_not() -> None:
    limiter = ReplyRateLimiter(max_retries=2)
    attempts: list[str] = []

    async def flooded(name: str) -> bool:
        attempts.append(name)
        raise RetryAfter(0)

    with pytest.raises(RetryAfter):
        await limiter.process_request(flooded, ("push",), {}, "sendMessage", {}, UNLIMITED)
    assert attempts == ["push"]
    with pytest.raises(RetryAfter):
        await limiter.process_request(flooded, ("reply",), {}, "sendMessage", {}, None)
    assert attempts == ["push"] + ["reply"] * 3


def test_members_keep_what_decides_pausing() -> None:
    """Restricted members are mapped in test_push_resume; here the plain statuses."""
    bot = {"id": 42, "is_bot": True, "first_name": "News"}
    for data, status in [
        ({"status": "kicked", "until_date": 0}, "kicked"),
        ({"status": "left"}, "left"),
        ({"status": "member"}, "member"),
    ]:
        parsed = ChatMember.de_json({**data, "user": bot}, None)
        assert parsed is not None
        member = member_of(parsed)
        assert (member.status, member.can_post_messages) == (status, False)


async def test_replies_count_in_the_push_governor_and_pushes_are_left_to_it() -> None:
    governor = SendGovernor()
    limiter = ReplyRateLimiter(governor)

    async def sent() -> bool:
        return True

    await limiter.process_request(sent, (), {}, "sendMessage", {"chat_id": 42}, None)
    assert governor.chat_ready_at(42) > 0, "the chat's next push waits for Telegram's gap"
    await limiter.process_request(sent, (), {}, "answerCallbackQuery", {"chat_id": 43}, None)
    await limiter.process_request(sent, (), {}, "sendMessage", {"chat_id": 44}, UNLIMITED)
    assert governor.chat_ready_at(43) == governor.chat_ready_at(44) == 0

"""The fake Bot API misbehaves like Telegram when told to, and python-telegram-bot reads its
answers as the matching exceptions: flood control, a bot kicked from a group, a migrated chat,
a rejected request, a wrong token. Accepted messages are recorded with when they arrived.
Each runs over PTB's own transport (httpx) and over the bot's (`AiohttpRequest`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from fakebotapi import TOKEN, FakeBotAPI
from telegram import Bot
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.request import BaseRequest

from bot.telegram_http import AiohttpRequest

GROUP = -100555


@pytest.fixture
def api() -> Iterator[FakeBotAPI]:
    with FakeBotAPI() as fake:
        yield fake


def transport(name: str, connections: int = 4) -> BaseRequest | None:
    return AiohttpRequest(connections) if name == "aiohttp" else None


@pytest.fixture(params=["httpx", "aiohttp"])
async def bot(api: FakeBotAPI, request: pytest.FixtureRequest) -> AsyncIterator[Bot]:
    over = request.param
    async with Bot(
        TOKEN,
        base_url=api.base_url,
        request=transport(over),
        get_updates_request=transport(over, connections=1),
    ) as plain_bot:
        yield plain_bot


async def test_a_long_poll_waits_for_an_update_and_takes_it(api: FakeBotAPI, bot: Bot) -> None:
    assert await bot.get_updates(timeout=0) == ()
    polling = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.3)
    assert not polling.done()
    api.push_update(api.message_update(42, api.user(42), "/latest"))
    [update] = await asyncio.wait_for(polling, 5)
    assert update.message is not None and update.message.text == "/latest"


async def test_a_bot_api_that_is_down_is_a_network_error() -> None:
    request = AiohttpRequest()
    offline = Bot(TOKEN, base_url="http://127.0.0.1:9/bot", request=request)
    try:
        with pytest.raises(NetworkError, match=r"aiohttp\.ClientConnectorError"):
            await offline.send_message(42, "hello")
    finally:
        await request.shutdown()


async def test_flood_limits_are_off_by_default(api: FakeBotAPI, bot: Bot) -> None:
    for number in range(40):
        await bot.send_message(GROUP, f"message {number}")
    assert len(api.sent_to(GROUP)) == 40


async def test_the_global_limit_answers_429_with_retry_after(api: FakeBotAPI, bot: Bot) -> None:
    api.flood_limits = True
    api.global_per_second = 5
    for number in range(5):
        await bot.send_message(1000 + number, "hello")
    with pytest.raises(RetryAfter):
        await bot.send_message(2000, "one too many")
    [refused] = [call for call in api.calls_to("sendMessage") if call.status == 429]
    assert refused.response["parameters"]["retry_after"] >= 1
    assert refused.response["description"].startswith("Too Many Requests: retry after")


async def test_a_group_gets_twenty_messages_a_minute(api: FakeBotAPI, bot: Bot) -> None:
    api.flood_limits = True
    api.global_per_second = 1000
    for _ in range(20):
        await bot.send_message(GROUP, "news")
    with pytest.raises(RetryAfter):
        await bot.send_message(GROUP, "more news")
    [refused] = [call for call in api.calls_to("sendMessage") if call.status == 429]
    assert 1 <= refused.response["parameters"]["retry_after"] <= 60
    await bot.send_message(42, "a private chat is not held back")


async def test_forbidden_and_migrated_chats(api: FakeBotAPI, bot: Bot) -> None:
    api.forbid(GROUP)
    with pytest.raises(Forbidden, match="bot was kicked from the group chat"):
        await bot.send_message(GROUP, "hello")
    api.migrate(-555, -100777)
    with pytest.raises(ChatMigrated) as caught:
        await bot.send_message(-555, "hello")
    assert caught.value.new_chat_id == -100777
    await bot.send_message(-100777, "hello again")
    assert [c.status for c in api.calls_to("sendMessage")] == [403, 400, 200]


async def test_a_group_window_can_be_shortened_and_accepted_messages_are_timed(
    api: FakeBotAPI, bot: Bot
) -> None:
    api.flood_limits = True
    api.group_per_minute, api.group_window = 2, 1.0
    for _ in range(2):
        await bot.send_message(GROUP, "news")
    with pytest.raises(RetryAfter):
        await bot.send_message(GROUP, "too soon")
    await asyncio.sleep(1.0)
    await bot.send_message(GROUP, "the window has moved on")
    assert api.too_many_requests == 1
    assert [message.text for message in api.sent] == ["news", "news", "the window has moved on"]
    assert api.max_in_window(1.0, GROUP) == 2
    assert api.max_in_window(10.0, GROUP) == 3


async def test_a_chat_told_to_reject_answers_bad_request(api: FakeBotAPI, bot: Bot) -> None:
    api.reject(-300, "message thread not found")
    with pytest.raises(BadRequest, match="Message thread not found"):
        await bot.send_message(-300, "hello", message_thread_id=9)
    await bot.send_message(301, "hello")
    assert [(message.chat_id, message.text) for message in api.sent] == [(301, "hello")]


async def test_a_required_token_turns_other_tokens_away() -> None:
    with FakeBotAPI(token_required=TOKEN) as guarded:
        async with Bot(TOKEN, base_url=guarded.base_url) as right:
            await right.send_message(42, "hello")
        with pytest.raises(InvalidToken):
            async with Bot("654321:OTHER", base_url=guarded.base_url):
                pytest.fail("a bot with another token got through getMe")
    assert [(call.method, call.status) for call in guarded.calls] == [
        ("getMe", 200),
        ("sendMessage", 200),
        ("getMe", 401),
    ]


async def test_bad_html_is_refused_like_telegram(api: FakeBotAPI, bot: Bot) -> None:
    with pytest.raises(BadRequest, match="Can't parse entities: unsupported start tag"):
        await bot.send_message(42, "<p>hi</p>", parse_mode="HTML")
    await bot.send_message(42, "<p>hi</p>")
    assert api.sent_to(42)[0].response["result"]["text"] == "<p>hi</p>"


async def test_chat_members_and_chats(api: FakeBotAPI, bot: Bot) -> None:
    api.set_member(GROUP, 7, "administrator")
    assert (await bot.get_chat_member(GROUP, 7)).status == "administrator"
    assert (await bot.get_chat_member(GROUP, 8)).status == "member"
    api.chats[-100999] = {"type": "channel", "title": "News", "username": "newschannel"}
    chat = await bot.get_chat("@newschannel")
    assert (chat.id, chat.type) == (-100999, "channel")

"""A push fan-out beside people talking to the bot: the real `Application` over HTTP against
the fake Bot API. Replies do not queue behind the fan-out's sends, and the fan-out still
delivers every headline once."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from bot_harness import USER_ID, Conversation
from fakebotapi import FakeBotAPI
from push_support import arrivals, batch, store_articles, subscribe
from telegram.ext import CallbackContext

from bot.jobs.push import push_tick
from storage.push_repository import SubscriptionSpec

pytest_plugins = ["bot_fixtures"]

CHATS = [3_000_000 + n for n in range(5)]


async def test_a_reply_goes_out_while_a_push_send_hangs(
    api: FakeBotAPI, conversation: Conversation
) -> None:
    application = conversation.application
    db = application.bot_data.db
    await subscribe(db, (SubscriptionSpec(chat_id=chat, chat_type="private") for chat in CHATS))
    await store_articles(db, batch("fanout", 2))

    # the first push send hangs in the fake Bot API until released
    release, hanging = threading.Event(), threading.Event()
    send = api.handlers["sendMessage"]

    def slow_pushes(params: dict[str, Any]) -> Any:
        if int(params["chat_id"]) in CHATS and not hanging.is_set():
            hanging.set()
            release.wait(30)
        return send(params)

    api.handlers["sendMessage"] = slow_pushes
    push = asyncio.create_task(push_tick(CallbackContext(application)))
    try:
        assert await asyncio.to_thread(hanging.wait, 30)
        replies = await asyncio.wait_for(conversation.say("/latest"), 10)
        assert [c.params["chat_id"] for c in replies if c.method == "sendMessage"] == [USER_ID]
        assert not push.done()  # the reply did not wait for the fan-out
        # and it is counted in Telegram's limits as the push sees them
        assert application.bot_data.governor.chat_ready_at(USER_ID) > 0
    finally:
        release.set()
        await asyncio.wait_for(push, 30)

    sent = arrivals(api.sent)
    assert sorted(key for key, times in sent.items() if key[0] in CHATS) == sorted(
        (chat, None, f"fanout-{n}") for chat in CHATS for n in range(2)
    )
    assert all(times == 1 for times in sent.values())

"""Subscription commands through the real bot `Application`, over a request class that answers
like Telegram and records every call; chat membership decides who is an administrator."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest
from bot_harness import RecordingRequest
from push_support import article, keys_in, store_articles
from telegram import Update
from telegram.ext import Application, CallbackContext

from bot.app import build_application
from bot.jobs.push import push_tick
from bot.settings import load_settings
from storage.db import Database
from storage.push_repository import PushRepository

TOKEN = "42:HANDLERS"
BOT = {"id": 42, "is_bot": True, "first_name": "News", "username": "news_test_bot"}
GROUP = {"id": -1001, "type": "supergroup", "title": "财经群", "is_forum": True}
ADMIN = {"id": 7, "is_bot": False, "first_name": "Ada", "language_code": "zh-hans"}
MEMBER = {"id": 8, "is_bot": False, "first_name": "Bo", "language_code": "en"}
CHANNEL = {"id": -100500, "type": "channel", "title": "新闻频道", "username": "newschan"}
RIGHTS = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
}


class TelegramLike(RecordingRequest):
    """Answers the Bot API methods these handlers use; `statuses[(chat, user)]` sets roles."""

    def __init__(self) -> None:
        super().__init__()
        self.statuses: dict[tuple[int, int], str] = {}
        self.bot_can_post = True
        self._ids = itertools.count(100)

    def sent(self, method: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == method]

    def _member(self, chat_id: int, user_id: int) -> dict[str, Any]:
        user = BOT if user_id == BOT["id"] else {"id": user_id, "is_bot": False, "first_name": "U"}
        status = self.statuses.get((chat_id, user_id), "member")
        if user_id == BOT["id"] and chat_id == CHANNEL["id"]:
            status = "administrator"
            return {
                "status": status,
                "user": user,
                **RIGHTS,
                "can_post_messages": self.bot_can_post,
            }
        if status == "administrator":
            return {"status": status, "user": user, **RIGHTS}
        if status == "creator":
            return {"status": status, "user": user, "is_anonymous": False}
        return {"status": status, "user": user}

    def _answer(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT
        if method == "getChatMember":
            return self._member(int(params["chat_id"]), int(params["user_id"]))
        if method == "getChat":
            if params["chat_id"] != "@newschan":
                return None
            return {
                **CHANNEL,
                "accent_color_id": 0,
                "max_reaction_count": 11,
                "accepted_gift_types": {
                    "unlimited_gifts": False,
                    "limited_gifts": False,
                    "unique_gifts": False,
                    "premium_subscription": False,
                    "gifts_from_channels": False,
                },
            }
        if method in {"sendMessage", "editMessageText"}:
            chat_id = int(params.get("chat_id", GROUP["id"]))
            return {
                "message_id": next(self._ids),
                "date": 0,
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
                "text": params.get("text", ""),
            }
        return True

    def answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        result = self._answer(method, params)
        if result is None:
            return 400, {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: chat not found",
            }
        return 200, {"ok": True, "result": result}


@pytest.fixture
async def telegram(database: Database) -> AsyncIterator[tuple[Application, TelegramLike]]:  # type: ignore[type-arg]
    request = TelegramLike()
    settings = load_settings(telegram={"token": TOKEN}, database={"url": database.url})
    application = build_application(settings, database, request=request)
    async with application:
        yield application, request


_updates = itertools.count(1)


def command(text: str, user: dict[str, Any], chat: dict[str, Any], **extra: Any) -> dict[str, Any]:
    length = len(text.split()[0])
    return {
        "update_id": next(_updates),
        "message": {
            "message_id": next(_updates),
            "date": 0,
            "chat": chat,
            "from": user,
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": length}],
            **extra,
        },
    }


def press(data: str, user: dict[str, Any], chat: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "update_id": next(_updates),
        "callback_query": {
            "id": str(next(_updates)),
            "from": user,
            "chat_instance": "x",
            "data": data,
            "message": {"message_id": 5, "date": 0, "chat": chat, "text": "…", **extra},
        },
    }


async def feed(application: Application, data: dict[str, Any]) -> None:  # type: ignore[type-arg]
    await application.process_update(Update.de_json(data, application.bot))


async def chat_subscriptions(database: Database, chat_id: int) -> list[Any]:
    async with database.session() as session:
        return await PushRepository(session).for_chat(chat_id)


def private(user: dict[str, Any]) -> dict[str, Any]:
    return {"id": user["id"], "type": "private", "first_name": user["first_name"]}


async def test_a_group_admin_subscribes_a_forum_topic_with_filters(
    telegram: tuple[Application, TelegramLike],
    database: Database,  # type: ignore[type-arg]
) -> None:
    application, api = telegram
    api.statuses[(GROUP["id"], ADMIN["id"])] = "administrator"
    text = "/subscribe cat:finance #央行 +银行 -保险 every 30m max 5"
    await feed(
        application, command(text, ADMIN, GROUP, message_thread_id=77, is_topic_message=True)
    )

    (stored,) = await chat_subscriptions(database, GROUP["id"])
    assert stored.message_thread_id == 77
    assert (stored.categories, stored.tags) == (["finance"], ["央行"])
    assert (stored.include_keywords, stored.exclude_keywords) == (["银行"], ["保险"])
    assert (stored.schedule, stored.max_items, stored.created_by) == ("every:30", 5, ADMIN["id"])
    assert {"chat_id": GROUP["id"], "user_id": ADMIN["id"]} in api.sent("getChatMember")
    (reply,) = api.sent("sendMessage")
    assert reply["text"].startswith(f"已订阅（编号 {stored.id}）")
    assert reply["message_thread_id"] == 77


async def test_a_non_admin_cannot_subscribe_unsubscribe_or_remove_by_button(
    telegram: tuple[Application, TelegramLike],
    database: Database,  # type: ignore[type-arg]
) -> None:
    application, api = telegram
    api.statuses[(GROUP["id"], ADMIN["id"])] = "creator"
    await feed(application, command("/subscribe #央行", ADMIN, GROUP))
    (existing,) = await chat_subscriptions(database, GROUP["id"])

    await feed(application, command("/subscribe #股市", MEMBER, GROUP))
    await feed(application, command("/unsubscribe", MEMBER, GROUP))
    await feed(application, command(f"/unsubscribe {existing.id}", MEMBER, GROUP))
    await feed(application, press(f"push:rm:{existing.id}", MEMBER, GROUP))
    await feed(application, press("push:new:i:*", MEMBER, GROUP))

    assert [sub.id for sub in await chat_subscriptions(database, GROUP["id"])] == [existing.id]
    refusals = [m["text"] for m in api.sent("sendMessage")][1:]
    assert refusals == ["Only this group's administrators can change its subscriptions."] * 3
    alerts = api.sent("answerCallbackQuery")
    assert len(alerts) == 2 and all(alert["show_alert"] for alert in alerts)
    assert not api.sent("editMessageText")


async def test_the_button_flow_creates_a_subscription_and_the_list_removes_it(
    telegram: tuple[Application, TelegramLike],
    database: Database,  # type: ignore[type-arg]
) -> None:
    application, api = telegram
    api.statuses[(GROUP["id"], ADMIN["id"])] = "administrator"
    await feed(application, command("/subscribe", ADMIN, GROUP))
    (menu,) = api.sent("sendMessage")
    first_row = menu["reply_markup"]["inline_keyboard"][0]
    assert [button["callback_data"] for button in first_row] == [
        "push:new:i",
        "push:new:e60",
        "push:new:d0800",
    ]

    await feed(application, press("push:new:d0800", ADMIN, GROUP))
    await feed(application, press("push:new:d0800:*", ADMIN, GROUP))
    (stored,) = await chat_subscriptions(database, GROUP["id"])
    assert (stored.schedule, stored.categories) == ("daily:08:00", [])
    assert "每天 08:00 摘要" in api.sent("editMessageText")[-1]["text"]

    await feed(application, command("/subscriptions", ADMIN, GROUP))
    listing = api.sent("sendMessage")[-1]
    assert f"{stored.id}. 全部新闻" in listing["text"]
    (remove,) = listing["reply_markup"]["inline_keyboard"]
    assert remove[0]["callback_data"] == f"push:rm:{stored.id}"

    await feed(application, press(f"push:rm:{stored.id}", ADMIN, GROUP))
    assert await chat_subscriptions(database, GROUP["id"]) == []
    assert api.sent("editMessageText")[-1]["text"] == "这里还没有订阅。"


async def test_a_channel_is_subscribed_from_a_private_chat_by_its_admin_only(
    telegram: tuple[Application, TelegramLike],
    database: Database,  # type: ignore[type-arg]
) -> None:
    application, api = telegram
    await feed(application, command("/subscribe @newschan #央行", MEMBER, private(MEMBER)))
    assert await chat_subscriptions(database, CHANNEL["id"]) == []
    assert "Only administrators of @newschan" in api.sent("sendMessage")[-1]["text"]

    api.statuses[(CHANNEL["id"], ADMIN["id"])] = "administrator"
    api.bot_can_post = False
    await feed(application, command("/subscribe @newschan #央行", ADMIN, private(ADMIN)))
    assert await chat_subscriptions(database, CHANNEL["id"]) == []
    assert "我还不能在 @newschan 发消息" in api.sent("sendMessage")[-1]["text"]

    api.bot_can_post = True
    await feed(application, command("/subscribe @newschan #央行", ADMIN, private(ADMIN)))
    (stored,) = await chat_subscriptions(database, CHANNEL["id"])
    assert (stored.chat_type, stored.tags, stored.created_by) == ("channel", ["央行"], ADMIN["id"])

    await feed(application, command("/subscribe @newschan", ADMIN, GROUP))
    assert "私聊" in api.sent("sendMessage")[-1]["text"]
    await feed(application, command("/subscribe @nosuchchan", ADMIN, private(ADMIN)))
    assert "找不到频道 @nosuchchan" in api.sent("sendMessage")[-1]["text"]

    await feed(application, command("/subscriptions", ADMIN, private(ADMIN)))
    assert "@newschan" in api.sent("sendMessage")[-1]["text"]
    await feed(application, command(f"/unsubscribe {stored.id}", MEMBER, private(MEMBER)))
    assert len(await chat_subscriptions(database, CHANNEL["id"])) == 1
    await feed(application, command(f"/unsubscribe {stored.id}", ADMIN, private(ADMIN)))
    assert await chat_subscriptions(database, CHANNEL["id"]) == []


async def test_in_a_private_chat_the_user_manages_their_own_subscriptions(
    telegram: tuple[Application, TelegramLike],
    database: Database,  # type: ignore[type-arg]
) -> None:
    application, api = telegram
    await feed(application, command("/subscribe 新能源 daily 07:30", MEMBER, private(MEMBER)))
    (stored,) = await chat_subscriptions(database, MEMBER["id"])
    assert (stored.include_keywords, stored.schedule, stored.language) == (
        ["新能源"],
        "daily:07:30",
        "en",
    )
    assert not api.sent("getChatMember")

    await feed(application, command("/subscribe every soon", MEMBER, private(MEMBER)))
    assert api.sent("sendMessage")[-1]["text"].startswith("I don't understand “every”.")
    await feed(application, command("/unsubscribe", MEMBER, private(MEMBER)))
    assert await chat_subscriptions(database, MEMBER["id"]) == []
    assert api.sent("sendMessage")[-1]["text"] == "Removed 1 subscription(s)."


async def test_the_application_push_job_sends_new_headlines_to_subscribers(
    telegram: tuple[Application, TelegramLike],
    database: Database,  # type: ignore[type-arg]
) -> None:
    application, api = telegram
    await feed(application, command("/subscribe +央行", MEMBER, private(MEMBER)))
    await store_articles(
        database,
        [
            article("pboc", "央行下调存款准备金率", body="央行宣布降准。"),
            article("cars", "新能源汽车销量创新高", body="汽车市场回暖。"),
        ],
    )

    await push_tick(CallbackContext(application))

    pushed = [m for m in api.sent("sendMessage") if "news.example.org" in m["text"]]
    assert [(m["chat_id"], keys_in(m["text"])) for m in pushed] == [(MEMBER["id"], ["pboc"])]
    assert pushed[0]["text"].startswith("<b>央行下调存款准备金率</b>")


async def test_push_rounds_started_together_send_each_headline_once(
    telegram: tuple[Application, TelegramLike],
    database: Database,  # type: ignore[type-arg]
) -> None:
    """The repeating job and a push requested after an ingest may fire together; the lease is
    per process, so the rounds themselves must not overlap and send the same rows twice."""
    application, api = telegram
    for user in (ADMIN, MEMBER):
        await feed(application, command("/subscribe +新闻", user, private(user)))
    await store_articles(
        database,
        [article(f"n{n}", f"第{n}条新闻", body=f"正文{n}。") for n in range(5)],
    )

    context = CallbackContext(application)
    await asyncio.gather(push_tick(context), push_tick(context), push_tick(context))

    pushed = [
        (m["chat_id"], *keys_in(m["text"]))
        for m in api.sent("sendMessage")
        if "news.example.org" in m["text"]
    ]
    assert sorted(pushed) == sorted((u["id"], f"n{n}") for u in (ADMIN, MEMBER) for n in range(5))

"""The bot's own membership drives its pushes: removed or blocked, a chat's subscriptions pause
with the reason; back in the chat, they resume from now on, without the news stored meanwhile.

Repository functions run on SQLite and PostgreSQL; the handlers run in the real `Application`,
fed `my_chat_member` updates, over a request class that answers like Telegram and records every
call (so these tests do not depend on the fake Bot API servers).
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from bot_harness import RecordingRequest
from sqlalchemy import select
from telegram import ChatMember, Update
from telegram.ext import Application, CallbackContext

from bot.app import build_application
from bot.jobs.push import push_tick
from bot.push.delivery import plan_due
from bot.push.membership import BLOCKED, CANNOT_POST, LEFT, MUTED, REMOVED, absence_reason
from bot.push.transport import Member
from bot.settings import load_settings
from bot.telegram_push import member_of
from storage.db import Database
from storage.models import utcnow
from storage.push_repository import MISSED_WHILE_PAUSED, PushRepository, SubscriptionSpec
from storage.records import ArticleRecord
from storage.repository import ArticleRepository
from storage.subscriptions import Delivery, DeliveryState, Subscription

TOKEN = "42:RESUME"
TZ = ZoneInfo("Asia/Shanghai")
BOT: dict[str, Any] = {"id": 42, "is_bot": True, "first_name": "News", "username": "news_test_bot"}
OWNER: dict[str, Any] = {"id": 7, "is_bot": False, "first_name": "Ada", "language_code": "en"}
GROUP: dict[str, Any] = {"id": -1001, "type": "supergroup", "title": "财经群"}
OTHER_GROUP: dict[str, Any] = {"id": -2002, "type": "supergroup", "title": "闲聊群"}
CHANNEL: dict[str, Any] = {
    "id": -100500,
    "type": "channel",
    "title": "新闻频道",
    "username": "newschan",
}
ADMIN_RIGHTS: dict[str, Any] = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": False,
    "can_restrict_members": False,
    "can_promote_members": False,
    "can_change_info": False,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
}
PBOC = ("pboc", "央行下调存款准备金率", "央行宣布下调金融机构存款准备金率零点五个百分点。")
CARS = ("cars", "新能源汽车销量创新高", "十月新能源汽车销量同比增长三成，出口持续走强。")
RAIN = ("rain", "南方多地迎来强降雨", "气象台发布暴雨预警，多条河流水位上涨，防汛进入应急状态。")
WHEAT = ("wheat", "冬小麦播种基本完成", "农业部门表示冬小麦播种面积稳定，墒情总体适宜。")


def private(user: dict[str, Any]) -> dict[str, Any]:
    return {"id": user["id"], "type": "private", "first_name": user["first_name"]}


class RecordingTelegram(RecordingRequest):
    """Answers the Bot API calls of the subscription handlers and the push job, records them;
    chats in `forbidden` answer 403 to `sendMessage`, as Telegram does once the bot is gone."""

    def __init__(self) -> None:
        super().__init__()
        self.forbidden: dict[int, str] = {}
        self._message_ids = itertools.count(100)

    def sent_to(self, chat_id: int) -> list[str]:
        return [
            params["text"]
            for name, params in self.calls
            if name == "sendMessage" and int(params["chat_id"]) == chat_id
        ]

    def answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "getMe":
            return 200, {"ok": True, "result": BOT}
        if method == "getChatMember":
            user = {"id": int(params["user_id"]), "is_bot": False, "first_name": "U"}
            member = {"status": "creator", "user": user, "is_anonymous": False}
            return 200, {"ok": True, "result": member}
        if method == "sendMessage":
            chat_id = int(params["chat_id"])
            if chat_id in self.forbidden:
                description = f"Forbidden: {self.forbidden[chat_id]}"
                return 403, {"ok": False, "error_code": 403, "description": description}
            chat = {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}
            message = {"message_id": next(self._message_ids), "date": 0, "chat": chat}
            return 200, {"ok": True, "result": {**message, "text": params["text"]}}
        return 200, {"ok": True, "result": True}


App = Application[Any, Any, Any, Any, Any, Any]


@pytest.fixture
async def telegram(database: Database) -> AsyncIterator[tuple[App, RecordingTelegram]]:
    request = RecordingTelegram()
    settings = load_settings(telegram={"token": TOKEN}, database={"url": database.url})
    application = build_application(settings, database, request=request)
    async with application:
        yield application, request


_ids = itertools.count(1)


def command(text: str, chat: dict[str, Any], user: dict[str, Any] = OWNER) -> dict[str, Any]:
    return {
        "update_id": next(_ids),
        "message": {
            "message_id": next(_ids),
            "date": 0,
            "chat": chat,
            "from": user,
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}],
        },
    }


def bot_member(status: str, **fields: Any) -> dict[str, Any]:
    extra = ADMIN_RIGHTS if status == "administrator" else {}
    return {"status": status, "user": BOT, **extra, **fields}


def membership(
    chat: dict[str, Any], old: dict[str, Any], new: dict[str, Any], by: dict[str, Any] = OWNER
) -> dict[str, Any]:
    """A `my_chat_member` update: the bot's own status in `chat` went from `old` to `new`."""
    change = {"chat": chat, "from": by, "date": 0, "old_chat_member": old, "new_chat_member": new}
    return {"update_id": next(_ids), "my_chat_member": change}


async def feed(application: App, data: dict[str, Any]) -> None:
    await application.process_update(Update.de_json(data, application.bot))


def article(key: str, title: str, body: str) -> ArticleRecord:
    return ArticleRecord(
        key=key,
        title=title,
        published_at=datetime(2026, 11, 26, 8, 0, tzinfo=UTC),
        category="news",
        tags=(),
        source="测试",
        digest=None,
        paragraphs=[(body, False)],
        summary=body,
        summary_version=1,
        share_url=f"https://news.example.org/{key}",
        file=None,
        content_hash=hashlib.sha256((key + title + body).encode()).hexdigest(),
    )


async def store(db: Database, *items: tuple[str, str, str]) -> list[int]:
    async with db.session() as session, session.begin():
        outcomes = await ArticleRepository(session).upsert_many([article(*item) for item in items])
        return [outcome.article_id for outcome in outcomes]


async def subscribe(db: Database, *specs: SubscriptionSpec) -> list[int]:
    async with db.session() as session, session.begin():
        repo = PushRepository(session)
        return [(await repo.add(spec)).id for spec in specs]


async def of_chat(db: Database, chat_id: int) -> list[Subscription]:
    async with db.session() as session:
        return await PushRepository(session).for_chat(chat_id)


async def ledger(db: Database, subscription_id: int) -> dict[int, tuple[str, str | None]]:
    """article id -> (state, last error) of one subscription's ledger rows."""
    async with db.session() as session:
        rows = await session.execute(
            select(Delivery.article_id, Delivery.state, Delivery.last_error).where(
                Delivery.subscription_id == subscription_id
            )
        )
        return {article_id: (state, error) for article_id, state, error in rows}


def links(texts: Sequence[str]) -> list[str]:
    return [key for text in texts for key in ("pboc", "cars", "rain", "wheat") if f"/{key}" in text]


async def push_round(application: App) -> None:
    await push_tick(CallbackContext(application))


# The repository functions, on SQLite and PostgreSQL.


async def test_pause_chat_pauses_every_subscription_of_that_chat_only(database: Database) -> None:
    group_topic, group_all, elsewhere = await subscribe(
        database,
        SubscriptionSpec(chat_id=GROUP["id"], chat_type="supergroup", message_thread_id=3),
        SubscriptionSpec(chat_id=GROUP["id"], chat_type="supergroup"),
        SubscriptionSpec(chat_id=OTHER_GROUP["id"], chat_type="supergroup"),
    )
    pboc, _cars = await store(database, PBOC, CARS)
    assert await plan_due(database, now=utcnow(), tz=TZ) == 6

    async with database.session() as session, session.begin():
        paused = await PushRepository(session).pause_chat(GROUP["id"], REMOVED)
    async with database.session() as session, session.begin():
        paused_again = await PushRepository(session).pause_chat(GROUP["id"], LEFT)

    assert paused == [group_topic, group_all] and paused_again == []
    for subscription in await of_chat(database, GROUP["id"]):
        assert subscription.paused_at is not None
        assert subscription.paused_reason == REMOVED
    assert (await ledger(database, group_all))[pboc] == (DeliveryState.FAILED, REMOVED)
    (other,) = await of_chat(database, OTHER_GROUP["id"])
    assert other.paused_at is None
    assert (await ledger(database, elsewhere))[pboc] == (DeliveryState.PENDING, None)
    async with database.session() as session:
        subscriptions, queued = await PushRepository(session).pending()
    assert [sub.id for sub in subscriptions] == [elsewhere] and len(queued) == 2


async def test_resume_chat_starts_from_the_newest_article_and_skips_the_ones_missed(
    database: Database,
) -> None:
    (subscription_id,) = await subscribe(
        database, SubscriptionSpec(chat_id=GROUP["id"], chat_type="supergroup")
    )
    async with database.session() as session, session.begin():
        await PushRepository(session).pause_chat(GROUP["id"], REMOVED)
    missed = await store(database, PBOC, CARS)

    async with database.session() as session, session.begin():
        resumed = await PushRepository(session).resume_chat(
            GROUP["id"], skip_stored_since=utcnow() - timedelta(minutes=10)
        )

    assert resumed == [subscription_id]
    (subscription,) = await of_chat(database, GROUP["id"])
    assert (subscription.paused_at, subscription.paused_reason) == (None, None)
    assert subscription.cursor_article_id == max(missed)
    assert await ledger(database, subscription_id) == {
        article_id: (DeliveryState.SKIPPED, MISSED_WHILE_PAUSED) for article_id in missed
    }
    assert await plan_due(database, now=utcnow(), tz=TZ) == 0

    (fresh,) = await store(database, RAIN)
    assert await plan_due(database, now=utcnow(), tz=TZ) == 1
    assert (await ledger(database, subscription_id))[fresh] == (DeliveryState.PENDING, None)


async def test_resume_chat_leaves_active_subscriptions_and_other_chats_alone(
    database: Database,
) -> None:
    await store(database, PBOC)
    active, paused_elsewhere = await subscribe(
        database,
        SubscriptionSpec(chat_id=GROUP["id"], chat_type="supergroup"),
        SubscriptionSpec(chat_id=OTHER_GROUP["id"], chat_type="supergroup"),
    )
    async with database.session() as session, session.begin():
        await PushRepository(session).pause_chat(OTHER_GROUP["id"], REMOVED)
    await store(database, CARS)

    async with database.session() as session, session.begin():
        assert await PushRepository(session).resume_chat(GROUP["id"]) == []

    (group,) = await of_chat(database, GROUP["id"])
    (other,) = await of_chat(database, OTHER_GROUP["id"])
    assert group.id == active and other.id == paused_elsewhere
    assert group.cursor_article_id == other.cursor_article_id < (await store(database, RAIN))[0]
    assert other.paused_reason == REMOVED
    assert await ledger(database, active) == {}


# How a membership reads: can the bot post there?


@pytest.mark.parametrize(
    ("chat_type", "member", "reason"),
    [
        ("private", bot_member("kicked", until_date=0), BLOCKED),
        ("supergroup", bot_member("kicked", until_date=0), REMOVED),
        ("supergroup", bot_member("left"), LEFT),
        ("supergroup", bot_member("member"), None),
        ("supergroup", bot_member("administrator"), None),
        ("channel", bot_member("administrator", can_post_messages=True), None),
        ("channel", bot_member("administrator", can_post_messages=False), CANNOT_POST),
    ],
)
def test_a_membership_says_whether_and_why_the_bot_cannot_post(
    chat_type: str, member: dict[str, Any], reason: str | None
) -> None:
    parsed = ChatMember.de_json(member, None)
    assert parsed is not None
    assert absence_reason(member_of(parsed), chat_type) == reason


def test_a_restricted_bot_counts_as_away_when_it_may_not_send() -> None:
    rights = dict.fromkeys(
        [
            "can_change_info",
            "can_invite_users",
            "can_pin_messages",
            "can_send_polls",
            "can_send_other_messages",
            "can_add_web_page_previews",
            "can_manage_topics",
            "can_send_audios",
            "can_send_documents",
            "can_send_photos",
            "can_send_videos",
            "can_send_video_notes",
            "can_send_voice_notes",
            "can_edit_tag",
            "can_react_to_messages",
        ],
        True,
    )

    def restricted(is_member: bool, can_send: bool) -> Member:
        data = bot_member("restricted", until_date=0, is_member=is_member, **rights)
        parsed = ChatMember.de_json({**data, "can_send_messages": can_send}, None)
        assert parsed is not None
        return member_of(parsed)

    assert absence_reason(restricted(True, True), "supergroup") is None
    assert absence_reason(restricted(True, False), "supergroup") == MUTED
    assert absence_reason(restricted(False, True), "supergroup") == REMOVED


# Through the Application.


async def test_the_bot_kicked_from_a_group_pauses_its_subscriptions_and_pushes_nothing(
    telegram: tuple[App, RecordingTelegram], database: Database
) -> None:
    application, api = telegram
    await feed(application, command("/subscribe now", GROUP))
    await feed(application, command("/subscribe +央行", GROUP))

    kicked = bot_member("kicked", until_date=0)
    await feed(application, membership(GROUP, bot_member("member"), kicked))
    await store(database, PBOC)
    await push_round(application)

    subscriptions = await of_chat(database, GROUP["id"])
    assert len(subscriptions) == 2
    assert all(sub.paused_reason == REMOVED for sub in subscriptions)
    assert links(api.sent_to(GROUP["id"])) == []


async def test_re_added_the_bot_resumes_and_pushes_only_news_stored_after(
    telegram: tuple[App, RecordingTelegram], database: Database
) -> None:
    application, api = telegram
    await feed(application, command("/subscribe now", GROUP))
    (before,) = await store(database, PBOC)
    await push_round(application)
    assert links(api.sent_to(GROUP["id"])) == ["pboc"]

    await feed(
        application, membership(GROUP, bot_member("member"), bot_member("kicked", until_date=0))
    )
    while_away = await store(database, CARS, RAIN)
    await push_round(application)
    await feed(application, membership(GROUP, bot_member("left"), bot_member("member")))

    (subscription,) = await of_chat(database, GROUP["id"])
    assert subscription.paused_at is None
    assert before < subscription.cursor_article_id == max(while_away)
    await store(database, WHEAT)
    await push_round(application)
    assert links(api.sent_to(GROUP["id"])) == ["pboc", "wheat"]


async def test_a_blocked_private_chat_pauses_and_unblocking_resumes(
    telegram: tuple[App, RecordingTelegram], database: Database
) -> None:
    application, api = telegram
    chat = private(OWNER)
    await feed(application, command("/subscribe +央行", chat))

    blocked = bot_member("kicked", until_date=0)
    await feed(application, membership(chat, bot_member("member"), blocked))
    (subscription,) = await of_chat(database, OWNER["id"])
    assert subscription.paused_reason == BLOCKED

    await store(database, PBOC)
    await feed(application, membership(chat, blocked, bot_member("member")))
    (subscription,) = await of_chat(database, OWNER["id"])
    assert subscription.paused_at is None
    await store(database, ("pboc-2", "央行开展逆回购操作", "央行今日开展七天期逆回购操作。"))
    await push_round(application)
    assert [text.count("/pboc-2") for text in api.sent_to(OWNER["id"])[1:]] == [1]


async def test_forbidden_while_pushing_shows_in_the_listing_and_subscribe_resumes(
    telegram: tuple[App, RecordingTelegram], database: Database
) -> None:
    application, api = telegram
    await feed(application, command("/subscribe now", GROUP))
    api.forbidden[GROUP["id"]] = "bot was kicked from the supergroup chat"
    await store(database, PBOC)
    await push_round(application)
    del api.forbidden[GROUP["id"]]

    await feed(application, command("/subscriptions", GROUP))
    listing = api.sent_to(GROUP["id"])[-1]
    assert (
        "paused: Telegram refused (Forbidden: bot was kicked from the supergroup chat)" in listing
    )

    await feed(application, command("/subscribe +汽车", GROUP))
    reply = api.sent_to(GROUP["id"])[-1]
    assert reply.startswith("Resumed 1 paused subscription(s)")
    assert "Subscribed (no. " in reply
    assert all(sub.paused_at is None for sub in await of_chat(database, GROUP["id"]))

    await feed(application, command("/subscriptions", GROUP))
    assert "paused" not in api.sent_to(GROUP["id"])[-1]
    await store(database, CARS)
    await push_round(application)
    assert links(api.sent_to(GROUP["id"])[-2:]) == ["cars", "cars"]


async def test_a_channel_pauses_when_the_bot_may_not_post_and_resumes_when_it_may(
    telegram: tuple[App, RecordingTelegram], database: Database
) -> None:
    application, _api = telegram
    (subscription_id,) = await subscribe(
        database, SubscriptionSpec(chat_id=CHANNEL["id"], chat_type="channel")
    )
    may_post = bot_member("administrator", can_post_messages=True)
    may_not = bot_member("administrator", can_post_messages=False)

    await feed(application, membership(CHANNEL, may_post, may_not))
    (subscription,) = await of_chat(database, CHANNEL["id"])
    assert (subscription.id, subscription.paused_reason) == (subscription_id, CANNOT_POST)

    await feed(application, membership(CHANNEL, may_not, may_post))
    (subscription,) = await of_chat(database, CHANNEL["id"])
    assert subscription.paused_at is None


async def test_a_membership_change_in_an_unrelated_chat_changes_nothing(
    telegram: tuple[App, RecordingTelegram], database: Database
) -> None:
    application, _api = telegram
    await store(database, PBOC)
    await feed(application, command("/subscribe now", GROUP))
    await feed(application, command("/subscribe now", OTHER_GROUP))
    kicked = bot_member("kicked", until_date=0)
    await feed(application, membership(OTHER_GROUP, bot_member("member"), kicked))

    def snapshot(subscriptions: list[Subscription]) -> list[tuple[Any, ...]]:
        return [
            (sub.id, sub.paused_at, sub.paused_reason, sub.cursor_article_id, sub.next_due_at)
            for sub in subscriptions
        ]

    group_before = snapshot(await of_chat(database, GROUP["id"]))
    other_before = snapshot(await of_chat(database, OTHER_GROUP["id"]))
    await store(database, CARS)
    unrelated = {"id": -3003, "type": "supergroup", "title": "无关"}
    await feed(application, membership(unrelated, bot_member("member"), kicked))
    await feed(application, membership(unrelated, kicked, bot_member("member")))

    assert snapshot(await of_chat(database, GROUP["id"])) == group_before
    assert snapshot(await of_chat(database, OTHER_GROUP["id"])) == other_before
    assert other_before[0][2] == REMOVED
    async with database.session() as session:
        assert await session.scalar(select(Delivery.id).limit(1)) is None


async def test_a_group_upgraded_to_a_supergroup_takes_its_paused_subscriptions_along(
    telegram: tuple[App, RecordingTelegram], database: Database
) -> None:
    application, api = telegram
    old_group: dict[str, Any] = {"id": -77, "type": "group", "title": "小群"}
    new_group: dict[str, Any] = {"id": -1_000_077, "type": "supergroup", "title": "小群"}
    await feed(application, command("/subscribe now", old_group))
    await feed(
        application,
        membership(old_group, bot_member("member"), bot_member("kicked", until_date=0)),
    )

    upgraded = {"message_id": next(_ids), "date": 0, "from": OWNER}
    await feed(
        application,
        {
            "update_id": next(_ids),
            "message": {**upgraded, "chat": old_group, "migrate_to_chat_id": new_group["id"]},
        },
    )
    await feed(
        application,
        {
            "update_id": next(_ids),
            "message": {**upgraded, "chat": new_group, "migrate_from_chat_id": old_group["id"]},
        },
    )

    assert await of_chat(database, old_group["id"]) == []
    (moved,) = await of_chat(database, new_group["id"])
    assert (moved.chat_type, moved.paused_reason) == ("supergroup", REMOVED)

    await feed(application, membership(new_group, bot_member("left"), bot_member("member")))
    await store(database, PBOC)
    await push_round(application)
    assert links(api.sent_to(new_group["id"])) == ["pboc"]
    assert links(api.sent_to(old_group["id"])) == []


def test_pause_reasons_are_told_in_the_readers_language():
    from bot.render.html import describe_reason

    assert describe_reason(REMOVED, "zh") == "机器人被移出了聊天"
    assert describe_reason(BLOCKED, "en") == "blocked by the user"
    assert describe_reason("forbidden: Forbidden: bot was blocked by the user", "zh") == (
        "Telegram 拒绝发送（Forbidden: bot was blocked by the user）"
    )
    assert describe_reason("something new", "zh") == "something new"

"""The subscription service on SQLite and PostgreSQL, with a fake `Chats` deciding who is an
administrator; and its replies through the one renderer, in HTML and in the console."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import pytest
from push_support import article, store_articles

from bot.cli.console import ConsoleChat
from bot.push.transport import ChatInfo, Member
from bot.render.html import RenderContext, describe, render, render_digest, telegram_length
from bot.render.html import render_headline as headline
from bot.render.keyboards import CallbackStore
from bot.services import subscriptions as service
from bot.services.replies import (
    Notice,
    PushItem,
    Subscribed,
    SubscribeMenu,
    SubscriptionItem,
    SubscriptionList,
)
from bot.services.subscriptions import MAX_PER_CHAT, Place
from bot.settings import load_settings
from storage.db import Database
from storage.push_repository import PushRepository

GROUP, CHANNEL, BOT, ADMIN, MEMBER = -1001, -100500, 42, 7, 8


@dataclass
class FakeChats:
    """Chat roles by (chat, user); one channel, @newschan, where the bot may post or not."""

    roles: dict[tuple[int, int], str] = field(default_factory=dict)
    bot_can_post: bool = True
    bot_id: int = BOT

    async def chat(self, name: str) -> ChatInfo | None:
        return ChatInfo(CHANNEL, "channel", "newschan") if name == "@newschan" else None

    async def member(self, chat_id: int, user_id: int) -> Member | None:
        if user_id == BOT and chat_id == CHANNEL:
            return Member("administrator", can_post_messages=self.bot_can_post)
        return Member(self.roles.get((chat_id, user_id), "member"))


def group(user: int, **extra: object) -> Place:
    return Place(GROUP, "supergroup", "zh", user_id=user, title="财经群", **extra)  # type: ignore[arg-type]


def private(user: int) -> Place:
    return Place(user, "private", "en", user_id=user)


async def stored(database: Database, chat_id: int) -> list[int]:
    async with database.session() as session:
        return [sub.id for sub in await PushRepository(session).for_chat(chat_id)]


async def test_a_private_chat_subscribes_lists_and_unsubscribes(database: Database) -> None:
    chats = FakeChats()
    made = await service.subscribe_command(
        database, chats, private(MEMBER), ["#央行", "+银行", "every", "30m"]
    )
    assert isinstance(made, Subscribed)
    assert (made.item.tags, made.item.include, made.item.schedule) == (
        ("央行",),
        ("银行",),
        "every:30",
    )
    listing = await service.list_subscriptions(database, private(MEMBER))
    assert [item.id for item in listing.items] == [made.item.id]
    removed = await service.unsubscribe_command(database, chats, private(MEMBER), [])
    assert removed == Notice("unsubscribed", {"count": 1})
    assert await stored(database, MEMBER) == []


async def test_only_group_admins_change_a_groups_subscriptions(database: Database) -> None:
    chats = FakeChats({(GROUP, ADMIN): "creator"})
    refused = await service.subscribe_command(database, chats, group(MEMBER), ["#股市"])
    assert refused == Notice("admins_only")
    made = await service.subscribe_command(
        database, chats, group(ADMIN, thread_id=77), ["cat:finance"]
    )
    assert isinstance(made, Subscribed) and await stored(database, GROUP) == [made.item.id]

    assert await service.unsubscribe_command(
        database, chats, group(MEMBER), [str(made.item.id)]
    ) == Notice("admins_only")
    pressed = await service.press(database, chats, group(MEMBER), f"push:rm:{made.item.id}")
    assert pressed.alert and pressed.toast == Notice("admins_only") and pressed.edit is None
    assert await stored(database, GROUP) == [made.item.id]

    anonymous = group(MEMBER, sender_chat_id=GROUP)  # an anonymous admin posts as the group
    assert await service.is_admin(chats, anonymous)
    pressed = await service.press(database, chats, group(ADMIN), f"push:rm:{made.item.id}")
    assert pressed == service.Pressed(
        Notice("unsubscribed", {"count": 1}), edit=SubscriptionList(())
    )
    assert await stored(database, GROUP) == []


async def test_a_channel_needs_a_private_chat_its_admin_and_the_right_to_post(
    database: Database,
) -> None:
    chats = FakeChats(bot_can_post=False)
    args = ["@newschan", "#央行"]
    assert await service.subscribe_command(database, chats, group(ADMIN), args) == Notice(
        "channel_from_private"
    )
    assert await service.subscribe_command(
        database, chats, private(ADMIN), ["@other", "#央行"]
    ) == Notice("channel_not_found", {"channel": "@other"})
    assert await service.subscribe_command(database, chats, private(ADMIN), args) == Notice(
        "channel_admins_only", {"channel": "@newschan"}
    )
    chats.roles[(CHANNEL, ADMIN)] = "administrator"
    assert await service.subscribe_command(database, chats, private(ADMIN), args) == Notice(
        "channel_cannot_post", {"channel": "@newschan"}
    )
    chats.bot_can_post = True
    made = await service.subscribe_command(database, chats, private(ADMIN), args)
    assert isinstance(made, Subscribed) and made.item.title == "@newschan"

    listing = await service.list_subscriptions(database, private(ADMIN))
    assert [item.id for item in listing.items] == [made.item.id]
    assert (await service.list_subscriptions(database, private(MEMBER))).items == ()
    assert await service.unsubscribe_command(
        database, chats, private(MEMBER), [str(made.item.id)]
    ) == Notice("admins_only")
    assert await service.unsubscribe_command(
        database, chats, private(ADMIN), ["@newschan"]
    ) == Notice("unsubscribed", {"count": 1})


async def test_the_button_flow_and_its_limits(database: Database) -> None:
    await store_articles(database, [article("a", "央行降准", category="finance")])
    chats = FakeChats({(GROUP, ADMIN): "administrator"})
    assert await service.subscribe_command(database, chats, group(ADMIN), []) == SubscribeMenu()
    pressed = await service.press(database, chats, group(ADMIN), "push:new:d0800")
    assert pressed.edit == SubscribeMenu(schedule="d0800", categories=("finance",))
    for _ in range(MAX_PER_CHAT):
        pressed = await service.press(database, chats, group(ADMIN), "push:new:d0800:finance")
        assert isinstance(pressed.edit, Subscribed)
        assert pressed.edit.item.schedule == "daily:08:00"
    full = await service.press(database, chats, group(ADMIN), "push:new:i:*")
    assert full.edit == Notice("too_many", {"limit": MAX_PER_CHAT})
    assert await service.press(database, chats, group(ADMIN), "push:rm:999999") == (
        service.Pressed(Notice("unknown_subscription", {"id": 999999}))
    )
    bad = await service.subscribe_command(database, chats, group(ADMIN), ["every", "soon"])
    assert bad == Notice("subscribe_bad_argument", {"value": "every"})


async def test_subscribing_again_resumes_a_paused_chat(database: Database) -> None:
    chats = FakeChats()
    first = await service.subscribe_command(database, chats, private(MEMBER), ["#央行"])
    assert isinstance(first, Subscribed)
    async with database.session() as session, session.begin():
        await PushRepository(session).pause_chat(MEMBER, "blocked by the user")
    (paused,) = (await service.list_subscriptions(database, private(MEMBER))).items
    assert paused.paused and paused.paused_reason == "blocked by the user"
    again = await service.subscribe_command(database, chats, private(MEMBER), ["#股市"])
    assert isinstance(again, Subscribed) and again.resumed == 1


def item(**overrides: object) -> SubscriptionItem:
    values: dict[str, object] = {
        "id": 3,
        "chat_type": "channel",
        "title": "@newschan",
        "categories": ("finance",),
        "tags": ("央行",),
        "include": ("银行", "利率"),
        "exclude": (),
        "schedule": "every:30",
        "max_items": 5,
    }
    return SubscriptionItem(**{**values, **overrides})  # type: ignore[arg-type]


def test_a_subscription_is_described_in_the_readers_language() -> None:
    assert describe(item(), "zh") == (
        "@newschan · 分类 finance · 标签 #央行 · 包含 银行、利率 · 每 30 分钟摘要 · 每次最多 5 条"
    )
    paused = item(chat_type="private", paused=True, paused_reason="forbidden: Forbidden: gone")
    assert describe(paused, "en").endswith("paused: Telegram refused (Forbidden: gone)")


def test_pushes_and_listings_render_through_the_main_renderer() -> None:
    tagged = PushItem(1, "标题", "摘要", "https://x.example/1", "Federal Reserve", ("rate cut",))
    assert "#Federal_Reserve #rate_cut" in headline(tagged, "en")
    assert headline(tagged, "en").endswith('<a href="https://x.example/1">Read</a>')
    ctx = RenderContext("zh", ZoneInfo("Asia/Shanghai"), CallbackStore())
    (message,) = render(SubscriptionList((item(title="<b>"),)), ctx)
    assert "3. &lt;b&gt; · 分类 finance" in message.html
    assert [b.callback_data for b in message.keyboard.buttons] == ["push:rm:3"]  # type: ignore[union-attr]


def test_a_digest_counts_the_limit_in_utf16_units() -> None:
    wide = [PushItem(n, "😀" * 150, "", None, None) for n in range(20)]
    messages = render_digest(wide, "zh", "摘要", limit=1000)
    assert all(telegram_length(text) <= 1000 for text, _ in messages)
    assert [n for _, carried in messages for n in carried] == list(range(20))


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_the_console_lists_adds_and_removes_its_chats_subscriptions(
    sqlite_database: Database, lang: str
) -> None:
    out = io.StringIO()
    settings = load_settings(database={"url": sqlite_database.url})
    console = ConsoleChat(sqlite_database, settings, lang=lang, out=out, chat_id=555)  # type: ignore[arg-type]

    async def say(line: str) -> str:
        out.seek(0), out.truncate()
        reply = await console.answer(line)
        assert reply is not None
        console.show(reply)
        return out.getvalue()

    assert ("Subscribed" if lang == "en" else "已订阅") in await say("/subscribe #央行 daily 07:30")
    (subscription_id,) = await stored(sqlite_database, 555)
    listing = await say("/subscriptions")
    assert f"{subscription_id}. " in listing and "[1] " in listing
    assert ("There are no" if lang == "en" else "还没有订阅") in await say("1")
    assert await stored(sqlite_database, 555) == []

    menu = await say("/subscribe")
    assert "[1]" in menu and "[3]" in menu
    await say("2")  # an hourly digest; then the category buttons, only "all news" here
    assert ("every 60 min" if lang == "en" else "每 60 分钟摘要") in await say("1")
    assert len(await stored(sqlite_database, 555)) == 1
    removed = await say("/unsubscribe")
    assert ("Removed 1" if lang == "en" else "已取消 1") in removed
    assert await stored(sqlite_database, 555) == []

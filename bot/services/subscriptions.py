"""`/subscribe`, `/unsubscribe`, `/subscriptions` and their buttons, as reply models.

In groups only chat administrators may change subscriptions (asked through `Chats`); a
channel is subscribed from a private chat by one of its administrators, once the bot has
checked it may post there. `/subscribe` in a paused chat resumes its subscriptions. Whoever
may subscribe a chat may also unsubscribe it, from wherever they ask.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from bot.i18n import Lang
from bot.push.commands import SCHEDULE_BUTTONS, ArgumentError, SubscribeRequest, parse_subscribe
from bot.push.membership import resume_chat
from bot.push.transport import ADMIN_STATUSES, CHANNEL, PRIVATE, Chats
from bot.services.replies import (
    Notice,
    Pressed,
    Subscribed,
    SubscribeMenu,
    SubscriptionItem,
    SubscriptionList,
    copied,
)
from storage.db import Database
from storage.push_repository import PushRepository, SubscriptionSpec
from storage.repository import ArticleRepository
from storage.subscriptions import Subscription

MAX_PER_CHAT = 20
MENU_CATEGORIES = 8


@dataclass(frozen=True, slots=True)
class Place:
    """Where a subscription command was sent, and by whom."""

    chat_id: int
    chat_type: str
    lang: Lang = "zh"
    user_id: int | None = None
    thread_id: int | None = None
    title: str | None = None
    sender_chat_id: int | None = None
    """The chat a message was sent on behalf of (an anonymous admin, a channel)."""


def item_of(sub: Subscription) -> SubscriptionItem:
    return copied(
        SubscriptionItem,
        sub,
        include=tuple(sub.include_keywords),
        exclude=tuple(sub.exclude_keywords),
        paused=sub.paused_at is not None,
    )


async def _admin_of(chats: Chats, chat_id: int, user_id: int | None) -> bool:
    member = await chats.member(chat_id, user_id) if user_id is not None else None
    return member is not None and member.status in ADMIN_STATUSES


async def is_admin(chats: Chats, place: Place) -> bool:
    """Private chats belong to their user; in groups and channels ask the messenger."""
    if place.chat_type == PRIVATE:
        return True
    if place.sender_chat_id is not None:
        return place.sender_chat_id == place.chat_id
    return await _admin_of(chats, place.chat_id, place.user_id)


async def _channel(chats: Chats, name: str, place: Place) -> Place | Notice:
    """The channel, or why not: unknown, not its admin, or the bot cannot post there."""
    chat = await chats.chat(name)
    if chat is None or chat.type != CHANNEL:
        return Notice("channel_not_found", {"channel": name})
    if not await _admin_of(chats, chat.id, place.user_id):
        return Notice("channel_admins_only", {"channel": name})
    me = await chats.member(chat.id, chats.bot_id)
    if me is None or not (
        me.status == "creator" or (me.status == "administrator" and me.can_post_messages)
    ):
        return Notice("channel_cannot_post", {"channel": name})
    title = chat.username and f"@{chat.username}"
    return replace(place, chat_id=chat.id, chat_type=CHANNEL, thread_id=None, title=title)


async def _destination(chats: Chats, place: Place, channel: str | None) -> Place | Notice:
    """Where the command points, after the permission checks."""
    if channel is not None:
        if place.chat_type != PRIVATE or place.user_id is None:
            return Notice("channel_from_private")
        return await _channel(chats, channel, place)
    if not await is_admin(chats, place):
        return Notice("admins_only")
    return place


async def _create(db: Database, where: Place, request: SubscribeRequest) -> Subscribed | Notice:
    async with db.session() as session, session.begin():
        repo = PushRepository(session)
        if len(await repo.for_chat(where.chat_id)) >= MAX_PER_CHAT:
            return Notice("too_many", {"limit": MAX_PER_CHAT})
        subscription = await repo.add(
            SubscriptionSpec(
                chat_id=where.chat_id,
                chat_type=where.chat_type,
                message_thread_id=where.thread_id,
                title=where.title,
                categories=request.categories,
                tags=request.tags,
                include_keywords=request.include,
                exclude_keywords=request.exclude,
                schedule=request.schedule.encode(),
                max_items=request.max_items,
                language=where.lang,
                created_by=where.user_id,
            )
        )
        return Subscribed(item_of(subscription))


async def subscribe_command(
    db: Database, chats: Chats, place: Place, args: Sequence[str]
) -> Subscribed | SubscribeMenu | Notice:
    """Without arguments, the schedule buttons; with them, the subscription they describe."""
    try:
        request = parse_subscribe(args)
    except ArgumentError as exc:
        return Notice("subscribe_bad_argument", {"value": exc.word})
    where = await _destination(chats, place, request.channel)
    if isinstance(where, Notice):
        return where
    resumed = len(await resume_chat(db, where.chat_id))
    if not args:
        return SubscribeMenu(resumed)
    created = await _create(db, where, request)
    return Subscribed(created.item, resumed) if isinstance(created, Subscribed) else created


async def _visible(db: Database, place: Place) -> list[Subscription]:
    """This chat's (topic's) subscriptions; in a private chat also the user's channels'."""
    async with db.session() as session:
        repo = PushRepository(session)
        found = await repo.for_chat(place.chat_id, place.thread_id)
        if place.chat_type == PRIVATE and place.user_id is not None:
            found += await repo.created_by(place.user_id, CHANNEL)
    return found


async def list_subscriptions(db: Database, place: Place) -> SubscriptionList:
    return SubscriptionList(tuple(item_of(sub) for sub in await _visible(db, place)))


async def _may_change(chats: Chats, sub: Subscription, place: Place) -> bool:
    if sub.chat_id == place.chat_id:
        return await is_admin(chats, place)
    return sub.chat_type == CHANNEL and await _admin_of(chats, sub.chat_id, place.user_id)


async def unsubscribe_command(
    db: Database, chats: Chats, place: Place, args: Sequence[str]
) -> Notice:
    """`/unsubscribe` (this chat or topic), `/unsubscribe 3 4` or `/unsubscribe @channel`."""
    if args and args[0].startswith("@"):
        where = await _destination(chats, place, args[0])
        if isinstance(where, Notice):
            return where
        async with db.session() as session:
            chosen = await PushRepository(session).for_chat(where.chat_id)
    elif args:
        chosen = []
        async with db.session() as session:
            repo = PushRepository(session)
            for word in args:
                found = await repo.get(int(word)) if word.isdigit() else None
                if found is None:
                    return Notice("unknown_subscription", {"id": word[:20]})
                chosen.append(found)
    else:
        async with db.session() as session:
            chosen = await PushRepository(session).for_chat(place.chat_id, place.thread_id)
    for sub in chosen:
        if not await _may_change(chats, sub, place):
            return Notice("admins_only")
    async with db.session() as session, session.begin():
        removed = await PushRepository(session).remove(sub.id for sub in chosen)
    return Notice("unsubscribed", {"count": removed})


async def press(db: Database, chats: Chats, place: Place, data: str) -> Pressed:
    """`push:new:<schedule>[:<category>]` walks the button flow; `push:rm:<id>` removes one."""
    parts = data.split(":", 3)
    if not await is_admin(chats, place):
        return Pressed(Notice("admins_only"), alert=True)
    schedules = {code: schedule for code, _, schedule in SCHEDULE_BUTTONS}
    if len(parts) == 3 and parts[1] == "new" and parts[2] in schedules:
        async with db.session() as session:
            counts = await ArticleRepository(session).category_counts()
        slugs = tuple(slug for slug, _ in counts[:MENU_CATEGORIES])
        return Pressed(edit=SubscribeMenu(schedule=parts[2], categories=slugs))
    if len(parts) == 4 and parts[1] == "new" and parts[2] in schedules:
        categories = () if parts[3] == "*" else (parts[3],)
        request = SubscribeRequest(categories=categories, schedule=schedules[parts[2]])
        return Pressed(edit=await _create(db, place, request))
    if len(parts) == 3 and parts[1] == "rm" and parts[2].isdigit():
        return await _remove(db, chats, place, int(parts[2]))
    return Pressed()


async def _remove(db: Database, chats: Chats, place: Place, subscription_id: int) -> Pressed:
    visible = await _visible(db, place)
    chosen = next((sub for sub in visible if sub.id == subscription_id), None)
    if chosen is None:
        return Pressed(Notice("unknown_subscription", {"id": subscription_id}))
    if not await _may_change(chats, chosen, place):
        return Pressed(Notice("admins_only"), alert=True)
    async with db.session() as session, session.begin():
        await PushRepository(session).remove([subscription_id])
    remaining = tuple(item_of(sub) for sub in visible if sub.id != subscription_id)
    return Pressed(Notice("unsubscribed", {"count": 1}), edit=SubscriptionList(remaining))

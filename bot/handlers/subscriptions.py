"""`/subscribe`, `/unsubscribe`, `/subscriptions` and their buttons, plus the push job.

In groups only chat administrators may change subscriptions (asked with `getChatMember`);
a channel is subscribed from a private chat by one of its administrators, once the bot has
checked it may post there. Handlers run in their own group ahead of the catch-all command and
button handlers and stop the update once they took it. The bot's own membership updates
(`my_chat_member`) pause a chat's subscriptions while the bot is removed or blocked there and
resume them when it is back; `/subscribe` in a paused chat resumes them too, and a group's
upgrade to a supergroup moves its subscriptions to the new chat id.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from telegram import (
    Bot,
    Chat,
    ChatFullInfo,
    ChatMemberAdministrator,
    ChatMemberOwner,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
    User,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, Forbidden
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot import metrics
from bot.handlers.common import Context, state_of
from bot.i18n import Lang, language_for
from bot.i18n import text as catalog_text
from bot.push.commands import ArgumentError, SubscribeRequest, parse_subscribe
from bot.push.delivery import Pusher
from bot.push.membership import (
    describe_reason,
    follow_membership,
    follow_migration,
    resume_chat,
)
from bot.push.schedule import Schedule
from storage.push_repository import PushRepository, SubscriptionSpec, lease_for
from storage.repository import ArticleRepository
from storage.subscriptions import Subscription

log = logging.getLogger(__name__)

HANDLER_GROUP = -10
CALLBACK_PREFIX = "push:"
MAX_PER_CHAT = 20
PUSH_INTERVAL = timedelta(seconds=30)
PUSHER_KEY = "newsbot.pusher"
BUTTON_CATEGORIES = 8
_ADMIN_TYPES = (ChatMemberAdministrator, ChatMemberOwner)
_SCHEDULE_BUTTONS = (
    ("i", "button_immediate", Schedule()),
    ("e60", "button_hourly", Schedule("interval", minutes=60)),
    ("d0800", "button_daily", Schedule.decode("daily:08:00")),
)


@dataclass(frozen=True, slots=True)
class Destination:
    """Where pushes go: a chat, maybe one forum topic of it."""

    chat_id: int
    chat_type: str
    thread_id: int | None
    title: str | None


def _lang(update: Update) -> Lang:
    user = update.effective_user
    return language_for(user.language_code if user else None)


async def _reply(message: Message, text: str, keyboard: InlineKeyboardMarkup | None = None) -> None:
    await message.reply_text(
        html.escape(text, quote=False), parse_mode=ParseMode.HTML, reply_markup=keyboard
    )


def _thread_of(message: Message | None) -> int | None:
    if message is not None and message.is_topic_message:
        return message.message_thread_id
    return None


async def is_chat_admin(
    bot: Bot, chat: Chat | ChatFullInfo, user: User | None, message: Message | None
) -> bool:
    """Private chats belong to their user; in groups and channels ask Telegram."""
    if chat.type == ChatType.PRIVATE:
        return True
    if message is not None and message.sender_chat is not None:
        return message.sender_chat.id == chat.id
    if user is None:
        return False
    try:
        member = await bot.get_chat_member(chat.id, user.id)
    except (BadRequest, Forbidden):
        return False
    return isinstance(member, _ADMIN_TYPES)


async def _channel(bot: Bot, name: str, user: User, lang: Lang) -> Destination | str:
    """The channel as a destination, or why not: unknown, not its admin, or we cannot post."""
    try:
        chat = await bot.get_chat(name)
    except (BadRequest, Forbidden):
        return catalog_text(lang, "channel_not_found", channel=name)
    if chat.type != ChatType.CHANNEL:
        return catalog_text(lang, "channel_not_found", channel=name)
    if not await is_chat_admin(bot, chat, user, None):
        return catalog_text(lang, "channel_admins_only", channel=name)
    try:
        me = await bot.get_chat_member(chat.id, bot.id)
    except (BadRequest, Forbidden):
        return catalog_text(lang, "channel_cannot_post", channel=name)
    can_post = isinstance(me, ChatMemberOwner) or (
        isinstance(me, ChatMemberAdministrator) and bool(me.can_post_messages)
    )
    if not can_post:
        return catalog_text(lang, "channel_cannot_post", channel=name)
    return Destination(chat.id, ChatType.CHANNEL, None, chat.username and f"@{chat.username}")


async def _destination(update: Update, context: Context, channel: str | None) -> Destination | str:
    """Where the command points, after the permission checks; a string says why not."""
    chat, user, message = update.effective_chat, update.effective_user, update.effective_message
    lang = _lang(update)
    assert chat is not None
    if channel is not None:
        if chat.type != ChatType.PRIVATE or user is None:
            return catalog_text(lang, "channel_from_private")
        return await _channel(context.bot, channel, user, lang)
    if not await is_chat_admin(context.bot, chat, user, message):
        return catalog_text(lang, "admins_only")
    return Destination(chat.id, chat.type, _thread_of(message), chat.title)


def describe(subscription: Subscription, lang: Lang) -> str:
    parts = []
    if subscription.categories:
        parts.append(
            catalog_text(lang, "summary_categories", value=", ".join(subscription.categories))
        )
    if subscription.tags:
        tags = " ".join("#" + tag for tag in subscription.tags)
        parts.append(catalog_text(lang, "summary_tags", value=tags))
    if subscription.include_keywords:
        words = "、".join(subscription.include_keywords)
        parts.append(catalog_text(lang, "summary_include", value=words))
    if subscription.exclude_keywords:
        words = "、".join(subscription.exclude_keywords)
        parts.append(catalog_text(lang, "summary_exclude", value=words))
    if not parts:
        parts.append(catalog_text(lang, "summary_all"))
    schedule = Schedule.decode(subscription.schedule)
    if schedule.kind == "interval":
        parts.append(catalog_text(lang, "schedule_interval", minutes=schedule.minutes))
    elif schedule.kind == "daily" and schedule.at is not None:
        parts.append(catalog_text(lang, "schedule_daily", at=f"{schedule.at:%H:%M}"))
    else:
        parts.append(catalog_text(lang, "schedule_immediate"))
    parts.append(catalog_text(lang, "summary_max", value=subscription.max_items))
    if subscription.paused_at is not None:
        reason = describe_reason(subscription.paused_reason, lang)
        parts.append(catalog_text(lang, "paused", reason=reason))
    if subscription.chat_type == ChatType.CHANNEL and subscription.title:
        parts.insert(0, subscription.title)
    return " · ".join(parts)


async def _create(
    context: Context,
    destination: Destination,
    request: SubscribeRequest,
    user: User | None,
    lang: Lang,
) -> str:
    async with state_of(context).db.session() as session, session.begin():
        repo = PushRepository(session)
        existing = await repo.for_chat(destination.chat_id)
        if len(existing) >= MAX_PER_CHAT:
            return catalog_text(lang, "too_many", limit=MAX_PER_CHAT)
        subscription = await repo.add(
            SubscriptionSpec(
                chat_id=destination.chat_id,
                chat_type=destination.chat_type,
                message_thread_id=destination.thread_id,
                title=destination.title,
                categories=request.categories,
                tags=request.tags,
                include_keywords=request.include,
                exclude_keywords=request.exclude,
                schedule=request.schedule.encode(),
                max_items=request.max_items,
                language=lang,
                created_by=user.id if user else None,
            )
        )
        return catalog_text(
            lang, "subscribed", id=subscription.id, summary=describe(subscription, lang)
        )


def _schedule_keyboard(lang: Lang) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(catalog_text(lang, label), callback_data=f"push:new:{code}")
                for code, label, _ in _SCHEDULE_BUTTONS
            ]
        ]
    )


async def subscribe(update: Update, context: Context) -> None:
    message, lang = update.effective_message, _lang(update)
    if message is None or update.effective_chat is None:
        raise ApplicationHandlerStop
    try:
        request = parse_subscribe(context.args or [])
    except ArgumentError as exc:
        text = catalog_text(lang, "bad_argument", value=exc.word) + "\n"
        await _reply(message, text + catalog_text(lang, "subscribe_usage"))
        raise ApplicationHandlerStop from None
    destination = await _destination(update, context, request.channel)
    if isinstance(destination, str):
        await _reply(message, destination)
        raise ApplicationHandlerStop
    resumed = await resume_chat(state_of(context).db, destination.chat_id)
    notice = catalog_text(lang, "resumed", count=len(resumed)) + "\n" if resumed else ""
    if not context.args:
        await _reply(
            message,
            notice + catalog_text(lang, "subscribe_choose_schedule"),
            _schedule_keyboard(lang),
        )
    else:
        created = await _create(context, destination, request, update.effective_user, lang)
        await _reply(message, notice + created)
    raise ApplicationHandlerStop


async def _visible(
    context: Context, chat: Chat, user: User | None, thread: int | None
) -> list[Subscription]:
    """This chat's (topic's) subscriptions; in a private chat also the user's channels'."""
    async with state_of(context).db.session() as session:
        repo = PushRepository(session)
        found = await repo.for_chat(chat.id, thread)
        if chat.type == ChatType.PRIVATE and user is not None:
            found += await repo.created_by(user.id, ChatType.CHANNEL)
    return found


def _listing(
    subscriptions: Sequence[Subscription], lang: Lang
) -> tuple[str, InlineKeyboardMarkup | None]:
    if not subscriptions:
        return catalog_text(lang, "no_subscriptions"), None
    lines = [catalog_text(lang, "subscriptions_title")]
    lines += [f"{sub.id}. {describe(sub, lang)}" for sub in subscriptions]
    buttons = [
        [
            InlineKeyboardButton(
                catalog_text(lang, "button_remove", id=sub.id), callback_data=f"push:rm:{sub.id}"
            )
        ]
        for sub in subscriptions
    ]
    return "\n".join(lines), InlineKeyboardMarkup(buttons)


async def list_subscriptions(update: Update, context: Context) -> None:
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        raise ApplicationHandlerStop
    found = await _visible(context, chat, update.effective_user, _thread_of(message))
    text, keyboard = _listing(found, _lang(update))
    await _reply(message, text, keyboard)
    raise ApplicationHandlerStop


async def _may_change(context: Context, subscription: Subscription, update: Update) -> bool:
    """Whoever may subscribe a chat may also unsubscribe it, from wherever they ask."""
    chat, user = update.effective_chat, update.effective_user
    if chat is not None and subscription.chat_id == chat.id:
        return await is_chat_admin(context.bot, chat, user, update.effective_message)
    if subscription.chat_type != ChatType.CHANNEL or user is None:
        return False
    channel = Chat(subscription.chat_id, ChatType.CHANNEL)
    return await is_chat_admin(context.bot, channel, user, None)


async def unsubscribe(update: Update, context: Context) -> None:
    message, chat, lang = update.effective_message, update.effective_chat, _lang(update)
    if message is None or chat is None:
        raise ApplicationHandlerStop
    args = context.args or []
    if args and args[0].startswith("@"):
        destination = await _destination(update, context, args[0])
        if isinstance(destination, str):
            await _reply(message, destination)
            raise ApplicationHandlerStop
        async with state_of(context).db.session() as session:
            chosen = await PushRepository(session).for_chat(destination.chat_id)
    elif args:
        chosen = []
        async with state_of(context).db.session() as session:
            repo = PushRepository(session)
            for word in args:
                found = await repo.get(int(word)) if word.isdigit() else None
                if found is None:
                    await _reply(message, catalog_text(lang, "unknown_subscription", id=word[:20]))
                    raise ApplicationHandlerStop
                chosen.append(found)
    else:
        chosen = await _visible(context, chat, None, _thread_of(message))
    for subscription in chosen:
        if not await _may_change(context, subscription, update):
            await _reply(message, catalog_text(lang, "admins_only"))
            raise ApplicationHandlerStop
    async with state_of(context).db.session() as session, session.begin():
        removed = await PushRepository(session).remove(sub.id for sub in chosen)
    await _reply(message, catalog_text(lang, "unsubscribed", count=removed))
    raise ApplicationHandlerStop


async def _category_keyboard(context: Context, code: str, lang: Lang) -> InlineKeyboardMarkup:
    async with state_of(context).db.session() as session:
        counts = await ArticleRepository(session).category_counts()
    rows = [
        [InlineKeyboardButton(catalog_text(lang, "button_all"), callback_data=f"push:new:{code}:*")]
    ]
    for slug, _count in counts[:BUTTON_CATEGORIES]:
        data = f"push:new:{code}:{slug}"
        if len(data.encode()) <= 64:
            rows.append([InlineKeyboardButton(f"#{slug}", callback_data=data)])
    return InlineKeyboardMarkup(rows)


async def button(update: Update, context: Context) -> None:
    """`push:new:<schedule>[:<category>]` walks the button flow; `push:rm:<id>` removes one."""
    query, lang = update.callback_query, _lang(update)
    if query is None or not isinstance(query.message, Message) or update.effective_chat is None:
        raise ApplicationHandlerStop
    parts = (query.data or "").split(":", 3)
    chat = update.effective_chat
    if not await is_chat_admin(context.bot, chat, update.effective_user, None):
        await query.answer(catalog_text(lang, "admins_only"), show_alert=True)
        raise ApplicationHandlerStop
    schedules = {code: schedule for code, _, schedule in _SCHEDULE_BUTTONS}
    if len(parts) == 3 and parts[1] == "new" and parts[2] in schedules:
        await query.answer()
        await query.edit_message_text(
            html.escape(catalog_text(lang, "subscribe_choose_category"), quote=False),
            parse_mode=ParseMode.HTML,
            reply_markup=await _category_keyboard(context, parts[2], lang),
        )
    elif len(parts) == 4 and parts[1] == "new" and parts[2] in schedules:
        await query.answer()
        categories = () if parts[3] == "*" else (parts[3],)
        request = SubscribeRequest(categories=categories, schedule=schedules[parts[2]])
        destination = Destination(chat.id, chat.type, _thread_of(query.message), chat.title)
        result = await _create(context, destination, request, update.effective_user, lang)
        await query.edit_message_text(html.escape(result, quote=False), parse_mode=ParseMode.HTML)
    elif len(parts) == 3 and parts[1] == "rm" and parts[2].isdigit():
        await _remove_by_button(update, context, int(parts[2]), lang)
    else:
        await query.answer()
    raise ApplicationHandlerStop


async def _remove_by_button(
    update: Update, context: Context, subscription_id: int, lang: Lang
) -> None:
    query, chat = update.callback_query, update.effective_chat
    assert query is not None and chat is not None and isinstance(query.message, Message)
    async with state_of(context).db.session() as session:
        subscription = await PushRepository(session).get(subscription_id)
    visible = await _visible(context, chat, update.effective_user, _thread_of(query.message))
    if subscription is None or subscription.id not in {sub.id for sub in visible}:
        await query.answer(catalog_text(lang, "unknown_subscription", id=subscription_id))
        return
    if not await _may_change(context, subscription, update):
        await query.answer(catalog_text(lang, "admins_only"), show_alert=True)
        return
    async with state_of(context).db.session() as session, session.begin():
        await PushRepository(session).remove([subscription_id])
    await query.answer(catalog_text(lang, "unsubscribed", count=1))
    remaining = [sub for sub in visible if sub.id != subscription_id]
    text, keyboard = _listing(remaining, lang)
    await query.edit_message_text(
        html.escape(text, quote=False), parse_mode=ParseMode.HTML, reply_markup=keyboard
    )


async def push_tick(context: Context) -> None:
    """One push round from the JobQueue; other replicas skip it while one holds the lease."""
    state = state_of(context)
    pusher = context.bot_data.get(PUSHER_KEY)
    if not isinstance(pusher, Pusher):
        pusher = Pusher(state.db, context.bot, lease_for(state.db), tz=state.settings.tz)
        context.bot_data[PUSHER_KEY] = pusher
    report = await pusher.run_once()
    metrics.observe_push(report)
    if report.messages_sent or report.items_failed or report.paused:
        log.info(
            "push: %d messages (%d items) sent, %d items failed, paused %s",
            report.messages_sent,
            report.items_sent,
            report.items_failed,
            report.paused,
        )


async def bot_membership_changed(update: Update, context: Context) -> None:
    """The bot was added, promoted, removed, blocked or unblocked somewhere: pause that chat's
    subscriptions while it cannot post there, resume them (from now on) once it can."""
    change = update.my_chat_member
    if change is None:
        return
    outcome = await follow_membership(
        state_of(context).db, change.chat.id, change.chat.type, change.new_chat_member
    )
    if outcome.paused:
        log.info("chat %s: paused %s (%s)", change.chat.id, outcome.paused, outcome.reason)
    if outcome.resumed:
        log.info("chat %s: resumed %s", change.chat.id, outcome.resumed)


async def chat_migrated(update: Update, context: Context) -> None:
    """The service messages of a group's upgrade carry both chat ids; subscriptions follow."""
    message = update.effective_message
    if message is None:
        return
    if message.migrate_to_chat_id is not None:
        old, new = message.chat.id, message.migrate_to_chat_id
    elif message.migrate_from_chat_id is not None:
        old, new = message.migrate_from_chat_id, message.chat.id
    else:
        return
    await follow_migration(state_of(context).db, old, new)
    log.info("chat %s migrated to %s", old, new)


def request_push(application: Application) -> None:  # type: ignore[type-arg]
    """Push right away, e.g. after an ingest, instead of waiting for the next tick."""
    if application.job_queue is not None:
        application.job_queue.run_once(push_tick, when=0, name="push-now")


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handlers(
        [
            CommandHandler("subscribe", subscribe),
            CommandHandler("unsubscribe", unsubscribe),
            CommandHandler("subscriptions", list_subscriptions),
            CallbackQueryHandler(button, pattern=f"^{CALLBACK_PREFIX}"),
            ChatMemberHandler(bot_membership_changed, ChatMemberHandler.MY_CHAT_MEMBER),
            MessageHandler(filters.StatusUpdate.MIGRATE, chat_migrated),
        ],
        group=HANDLER_GROUP,
    )
    if application.job_queue is not None:
        application.job_queue.run_repeating(
            push_tick, interval=PUSH_INTERVAL, first=PUSH_INTERVAL, name="push"
        )

"""`/subscribe`, `/unsubscribe`, `/subscriptions` and their buttons; the bot's own membership
(`my_chat_member`) and a group's upgrade, which pause, resume or move a chat's subscriptions.

Handlers run in their own group ahead of the catch-all command and button handlers and stop
the update once they took it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from telegram import Message, Update
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.handlers.common import App, Context, edit, send, state_of, viewer_of
from bot.i18n import language_for, text
from bot.push.membership import follow_membership, follow_migration
from bot.push.transport import Chats
from bot.services import subscriptions as service
from bot.services.replies import Reply
from bot.telegram_push import TelegramMessenger, member_of
from storage.db import Database

log = logging.getLogger(__name__)

HANDLER_GROUP = -10
CALLBACK_PREFIX = "push:"

Command = Callable[[Database, Chats, service.Place, Sequence[str]], Awaitable[Reply]]


def place_of(update: Update, *, sender: bool = True) -> service.Place | None:
    chat, user, message = update.effective_chat, update.effective_user, update.effective_message
    if chat is None or message is None:
        return None
    return service.Place(
        chat_id=chat.id,
        chat_type=chat.type,
        lang=language_for(user.language_code if user else None),
        user_id=user.id if user else None,
        thread_id=message.message_thread_id if message.is_topic_message else None,
        title=chat.title,
        sender_chat_id=message.sender_chat.id if sender and message.sender_chat else None,
    )


async def _run(update: Update, context: Context, command: Command) -> None:
    if (place := place_of(update)) is not None:
        messenger = TelegramMessenger(context.bot)
        reply = await command(state_of(context).db, messenger, place, context.args or [])
        await send(update, context, reply, viewer_of(update, context))
    raise ApplicationHandlerStop


async def subscribe(update: Update, context: Context) -> None:
    await _run(update, context, service.subscribe_command)


async def unsubscribe(update: Update, context: Context) -> None:
    await _run(update, context, service.unsubscribe_command)


async def list_subscriptions(update: Update, context: Context) -> None:
    await _run(update, context, lambda db, _, place, __: service.list_subscriptions(db, place))


async def button(update: Update, context: Context) -> None:
    query, place = update.callback_query, place_of(update, sender=False)
    if query is None or not isinstance(query.message, Message) or place is None:
        raise ApplicationHandlerStop
    messenger = TelegramMessenger(context.bot)
    pressed = await service.press(state_of(context).db, messenger, place, query.data or "")
    toast = pressed.toast
    toast_text = text(place.lang, toast.message, **toast.values) if toast is not None else None
    await query.answer(toast_text, show_alert=pressed.alert or None)
    if pressed.edit is not None:
        await edit(query.message, context, pressed.edit, viewer_of(update, context))
    raise ApplicationHandlerStop


async def bot_membership_changed(update: Update, context: Context) -> None:
    """The bot was added, promoted, removed, blocked or unblocked somewhere: pause that chat's
    subscriptions while it cannot post there, resume them (from now on) once it can."""
    if (change := update.my_chat_member) is None:
        return
    member = member_of(change.new_chat_member)
    chat = change.chat
    outcome = await follow_membership(state_of(context).db, chat.id, chat.type, member)
    if outcome.paused:
        log.info("chat %s: paused %s (%s)", chat.id, outcome.paused, outcome.reason)
    if outcome.resumed:
        log.info("chat %s: resumed %s", chat.id, outcome.resumed)


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


def register(application: App) -> None:
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

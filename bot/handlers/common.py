"""What every handler shares: the bot's state, who is asking, and sending rendered replies."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from telegram import (
    Bot,
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.constants import ChatType
from telegram.error import BadRequest
from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot, JobQueue

from bot.i18n import language_for
from bot.push.delivery import Pusher
from bot.push.governor import SendGovernor
from bot.render.html import RenderContext, render
from bot.render.keyboards import CallbackStore, Keyboard
from bot.services.admin import IngestGate
from bot.services.replies import Reply, Viewer
from bot.settings import Settings
from storage.db import Database

log = logging.getLogger(__name__)


@dataclass
class BotState:
    """The `bot_data` of the application (`CONTEXT_TYPES`): PTB creates it empty, and
    `install_state` sets the database and settings before the first update."""

    db: Database = field(init=False)
    settings: Settings = field(init=False)
    callbacks: CallbackStore = field(default_factory=CallbackStore)
    ingest_gate: IngestGate = field(default_factory=IngestGate)
    started: float = field(default_factory=time.monotonic)
    pusher: Pusher | None = None
    """Made by the first push round, kept for its flood governor's memory."""
    governor: SendGovernor = field(default_factory=SendGovernor)
    """Telegram's flood limits as the push sees them, replies counted in (`build_application`)."""
    push_bot: Bot | None = None
    """The pushes' own bot and HTTP client (`build_application`); None: the application's."""


Context = CallbackContext[ExtBot[Any], dict[Any, Any], dict[Any, Any], BotState]
App = Application[ExtBot[Any], Context, dict[Any, Any], dict[Any, Any], BotState, JobQueue[Any]]
"""PTB's stubs do not carry `context_types` into the JobQueue's type, hence its `Any`."""
CONTEXT_TYPES = ContextTypes(bot_data=BotState)


def install_state(application: App, db: Database, settings: Settings) -> BotState:
    application.bot_data.db = db
    application.bot_data.settings = settings
    return application.bot_data


def state_of(context: Context) -> BotState:
    return context.bot_data


def is_group(chat: Chat | None) -> bool:
    return chat is not None and chat.type in {ChatType.GROUP, ChatType.SUPERGROUP}


def viewer_of(update: Update, context: Context) -> Viewer:
    state = state_of(context)
    user = update.effective_user
    return Viewer(
        user_id=user.id if user else None,
        lang=language_for(user.language_code if user else None),
        in_group=is_group(update.effective_chat),
        is_admin=bool(user and user.id in state.settings.admin.ids),
        display_name=user.first_name if user else "",
    )


def render_context(viewer: Viewer, context: Context) -> RenderContext:
    state = state_of(context)
    return RenderContext(viewer.lang, state.settings.tz, state.callbacks, viewer.in_group)


def markup(keyboard: Keyboard | None) -> InlineKeyboardMarkup | None:
    """The plain keyboard model as Telegram's type, at the last moment."""
    if keyboard is None:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    button.text,
                    callback_data=button.callback_data,
                    url=button.url,
                    switch_inline_query_current_chat=button.switch_inline_query_current_chat,
                )
                for button in row
            ]
            for row in keyboard.rows
        ]
    )


Command = Callable[[Database, Sequence[str], Viewer], Awaitable[Reply]]


def answering(command: Command) -> Callable[[Update, Context], Coroutine[Any, Any, None]]:
    """The handler of `/name ARGS`: replies with `command(db, args, viewer)`."""

    async def handle(update: Update, context: Context) -> None:
        viewer = viewer_of(update, context)
        await send(
            update, context, await command(state_of(context).db, context.args or [], viewer), viewer
        )

    return handle


async def send(update: Update, context: Context, reply: Reply, viewer: Viewer) -> None:
    """Render a reply and send it to the chat the update came from, as one or more messages."""
    chat = update.effective_chat
    if chat is None:
        return
    thread_id = None
    if update.effective_message is not None and update.effective_message.is_topic_message:
        thread_id = update.effective_message.message_thread_id
    for message in render(reply, render_context(viewer, context)):
        await context.bot.send_message(
            chat.id,
            message.html,
            reply_markup=markup(message.keyboard),
            message_thread_id=thread_id,
        )


async def edit(message: Message, context: Context, reply: Reply, viewer: Viewer) -> None:
    """Replace a message in place with the first part of a rendered reply (page turns)."""
    first = render(reply, render_context(viewer, context))[0]
    try:
        await context.bot.edit_message_text(
            first.html,
            chat_id=message.chat_id,
            message_id=message.message_id,
            reply_markup=markup(first.keyboard),
        )
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise

"""The bot's own place in each chat: pause a chat's pushes the moment the bot is removed or
blocked there, resume them when it is back, and follow a group that became a supergroup.

Telegram reports every change of the bot's membership as a `my_chat_member` update; acting on
it keeps the push job from failing against a chat it cannot reach, and brings a chat back
without anyone having to re-subscribe.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from telegram import (
    ChatMember,
    ChatMemberAdministrator,
    ChatMemberBanned,
    ChatMemberLeft,
    ChatMemberRestricted,
)
from telegram.constants import ChatType

from bot.i18n import Lang, text
from bot.push.delivery import FORBIDDEN_PREFIX, LATE_COMMIT_WINDOW
from storage.db import Database
from storage.models import utcnow
from storage.push_repository import PushRepository

BLOCKED = "blocked by the user"
REMOVED = "removed from the chat"
LEFT = "left the chat"
MUTED = "not allowed to send messages"
CANNOT_POST = "not allowed to post in the channel"
_REASON_MESSAGES = {
    BLOCKED: "pause_blocked",
    REMOVED: "pause_removed",
    LEFT: "pause_left",
    MUTED: "pause_muted",
    CANNOT_POST: "pause_cannot_post",
}


def describe_reason(reason: str | None, lang: Lang) -> str:
    """A stored pause reason in the reader's language; Telegram's own wording stays as it came."""
    if reason in _REASON_MESSAGES:
        return text(lang, _REASON_MESSAGES[reason])
    if reason and reason.startswith(FORBIDDEN_PREFIX):
        return text(lang, "pause_forbidden", detail=reason.removeprefix(FORBIDDEN_PREFIX))
    return reason or ""


def absence_reason(member: ChatMember, chat_type: str) -> str | None:
    """Why the bot cannot post in the chat as this membership stands, or None when it can."""
    if isinstance(member, ChatMemberBanned):
        return BLOCKED if chat_type == ChatType.PRIVATE else REMOVED
    if isinstance(member, ChatMemberLeft):
        return LEFT
    if isinstance(member, ChatMemberRestricted):
        if not member.is_member:
            return REMOVED
        return None if member.can_send_messages else MUTED
    if isinstance(member, ChatMemberAdministrator) and chat_type == ChatType.CHANNEL:
        return None if member.can_post_messages else CANNOT_POST
    return None


@dataclass(frozen=True, slots=True)
class MembershipOutcome:
    """Which of the chat's subscriptions this change paused or resumed."""

    paused: list[int] = field(default_factory=list)
    resumed: list[int] = field(default_factory=list)
    reason: str | None = None


async def resume_chat(db: Database, chat_id: int) -> list[int]:
    """Resume the chat's paused subscriptions with their cursor at "now": only news stored
    after the resume is pushed, not everything stored while the bot was away (see
    `PushRepository.resume_chat`). Returns the ids resumed."""
    async with db.session() as session, session.begin():
        return await PushRepository(session).resume_chat(
            chat_id, skip_stored_since=utcnow() - LATE_COMMIT_WINDOW
        )


async def pause_chat(db: Database, chat_id: int, reason: str) -> list[int]:
    async with db.session() as session, session.begin():
        return await PushRepository(session).pause_chat(chat_id, reason)


async def follow_membership(
    db: Database, chat_id: int, chat_type: str, member: ChatMember
) -> MembershipOutcome:
    """Bring the chat's subscriptions in line with the bot's new membership there."""
    reason = absence_reason(member, chat_type)
    if reason is None:
        return MembershipOutcome(resumed=await resume_chat(db, chat_id))
    return MembershipOutcome(paused=await pause_chat(db, chat_id, reason), reason=reason)


async def follow_migration(db: Database, old_chat_id: int, new_chat_id: int) -> None:
    """A group became a supergroup (Telegram sends no `my_chat_member` for the old group): its
    subscriptions, paused or not, move to the new chat id before a push has to learn it from a
    `ChatMigrated` error. Running it twice, once per service message, is harmless."""
    async with db.session() as session, session.begin():
        await PushRepository(session).move_chat(old_chat_id, new_chat_id)

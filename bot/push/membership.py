"""The bot's own place in each chat: pause a chat's pushes the moment the bot is removed or
blocked there, resume them when it is back, and follow a group that became a supergroup.

Telegram reports every change of the bot's membership as a `my_chat_member` update; acting on
it keeps the push job from failing against a chat it cannot reach, and brings a chat back
without anyone having to re-subscribe.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.push.transport import BLOCKED, CANNOT_POST, CHANNEL, LEFT, MUTED, PRIVATE, REMOVED, Member
from storage.db import Database
from storage.models import utcnow
from storage.push_repository import LATE_COMMITS, PushRepository

__all__ = ["BLOCKED", "CANNOT_POST", "LEFT", "MUTED", "REMOVED", "absence_reason"]


def absence_reason(member: Member, chat_type: str) -> str | None:
    """Why the bot cannot post in the chat as this membership stands, or None when it can."""
    if member.status == "kicked":
        return BLOCKED if chat_type == PRIVATE else REMOVED
    if member.status == "left":
        return LEFT
    if member.status == "restricted":
        if not member.is_member:
            return REMOVED
        return None if member.can_send_messages else MUTED
    if member.status == "administrator" and chat_type == CHANNEL:
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
            chat_id, skip_stored_since=utcnow() - LATE_COMMITS.window
        )


async def follow_membership(
    db: Database, chat_id: int, chat_type: str, member: Member
) -> MembershipOutcome:
    """Bring the chat's subscriptions in line with the bot's new membership there."""
    reason = absence_reason(member, chat_type)
    if reason is None:
        return MembershipOutcome(resumed=await resume_chat(db, chat_id))
    async with db.session() as session, session.begin():
        paused = await PushRepository(session).pause_chat(chat_id, reason)
    return MembershipOutcome(paused=paused, reason=reason)


async def follow_migration(db: Database, old_chat_id: int, new_chat_id: int) -> None:
    """A group became a supergroup (Telegram sends no `my_chat_member` for the old group): its
    subscriptions, paused or not, move to the new chat id before a push has to learn it from a
    `ChatMigrated` error. Running it twice, once per service message, is harmless."""
    async with db.session() as session, session.begin():
        await PushRepository(session).move_chat(old_chat_id, new_chat_id)

"""Push subscriptions, their delivery ledger and the push lease, on the shared metadata."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, utcnow

ROW_ID = BigInteger().with_variant(Integer, "sqlite")


class DeliveryState:
    """The life of one ledger row: `pending` until Telegram confirms, then `sent`."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


class Subscription(Base):
    """A chat (or one forum topic of it) that wants matching headlines pushed on a schedule."""

    __tablename__ = "subscriptions"
    __table_args__ = (Index("ix_subscriptions_chat", "chat_id", "message_thread_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    chat_type: Mapped[str] = mapped_column(String(20))
    message_thread_id: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str | None] = mapped_column(Text)
    categories: Mapped[list[Any]] = mapped_column(JSON, default=list)
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    include_keywords: Mapped[list[Any]] = mapped_column(JSON, default=list)
    exclude_keywords: Mapped[list[Any]] = mapped_column(JSON, default=list)
    schedule: Mapped[str] = mapped_column(String(40), default="immediate")
    max_items: Mapped[int] = mapped_column(Integer, default=10)
    language: Mapped[str] = mapped_column(String(10), default="zh")
    cursor_article_id: Mapped[int] = mapped_column(BigInteger, default=0)
    next_due_at: Mapped[datetime | None]
    paused_at: Mapped[datetime | None]
    paused_reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Delivery(Base):
    """One article for one subscription; the pair is unique, so nothing is queued twice."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "article_id"),
        Index("ix_deliveries_state_subscription", "state", "subscription_id"),
        Index("ix_deliveries_subscription_story", "subscription_id", "story_id"),
    )

    id: Mapped[int] = mapped_column(ROW_ID, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    article_id: Mapped[int] = mapped_column(ROW_ID, ForeignKey("articles.id", ondelete="CASCADE"))
    story_id: Mapped[int | None] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(10), default=DeliveryState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class PushLease(Base):
    """Who may push until when, for databases without advisory locks (SQLite)."""

    __tablename__ = "push_leases"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime]

"""Subscriptions, the delivery ledger and the push lease: the one place that knows their tables."""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import bindparam, case, delete, func, or_, select, text, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from storage.db import Database
from storage.models import Article, Category, Tag, article_tags, utcnow
from storage.records import ArticleView
from storage.subscriptions import Delivery, DeliveryState, PushLease, Subscription
from storage.views import VIEW_COLUMNS


@dataclass(frozen=True, slots=True)
class SubscriptionSpec:
    """What a chat asked for, as plain values."""

    chat_id: int
    chat_type: str
    message_thread_id: int | None = None
    title: str | None = None
    categories: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    include_keywords: tuple[str, ...] = ()
    exclude_keywords: tuple[str, ...] = ()
    schedule: str = "immediate"
    max_items: int = 10
    language: str = "zh"
    created_by: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NewArticle(ArticleView):
    """A stored article newer than some cursor, as the pusher filters and shows it: `story_id`
    is its own id when it starts no story, `summary` falls back to the digest."""

    story_id: int
    created_at: datetime | None = None

    @property
    def text(self) -> str:
        """All a keyword filter looks at: title, digest, summary and paragraphs."""
        body = [str(paragraph[0]) for paragraph in self.paragraphs]
        return "\n".join([self.title, self.digest or "", self.summary, *body])


@dataclass(frozen=True, slots=True)
class QueuedDelivery:
    """A pending ledger row with its article, ready to render and send."""

    id: int
    subscription_id: int
    article: NewArticle


@dataclass(slots=True)
class Plan:
    """What one due subscription gets this round, written in one transaction."""

    subscription_id: int
    cursor: int
    next_due_at: datetime | None
    picked: list[NewArticle] = field(default_factory=list)
    over_cap: list[NewArticle] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class LateCommits:
    """Ids come from a sequence in insert order, but transactions may commit out of that order:
    an article stored within `window` is still looked at below a cursor, as far back as
    `id_span` ids (by primary key, so cheap)."""

    window: timedelta = timedelta(minutes=10)
    id_span: int = 5_000


LATE_COMMITS = LateCommits()

MISSED_WHILE_PAUSED = "stored while the chat was paused"
SKIPPED = DeliveryState.SKIPPED


class PushRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, spec: SubscriptionSpec) -> Subscription:
        """Subscribe from now on: the cursor starts at the newest stored article."""
        values = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(spec).items()}
        subscription = Subscription(**values, cursor_article_id=await self.newest_article_id())
        self.session.add(subscription)
        await self.session.flush()
        return subscription

    @property
    def _dialect(self) -> str:
        return self.session.bind.dialect.name if self.session.bind is not None else "sqlite"

    async def get(self, subscription_id: int) -> Subscription | None:
        return await self.session.get(Subscription, subscription_id)

    async def _subscriptions(self, *conditions: Any) -> list[Subscription]:
        stmt = select(Subscription).where(*conditions).order_by(Subscription.id)
        return list(await self.session.scalars(stmt))

    async def for_chat(
        self, chat_id: int, message_thread_id: int | None = None
    ) -> list[Subscription]:
        thread = Subscription.message_thread_id == message_thread_id
        return await self._subscriptions(
            Subscription.chat_id == chat_id, true() if message_thread_id is None else thread
        )

    async def created_by(self, user_id: int, chat_type: str) -> list[Subscription]:
        return await self._subscriptions(
            Subscription.created_by == user_id, Subscription.chat_type == chat_type
        )

    async def remove(self, subscription_ids: Iterable[int]) -> int:
        ids = list(subscription_ids)
        if not ids:
            return 0
        await self.session.execute(delete(Delivery).where(Delivery.subscription_id.in_(ids)))
        result = await self.session.execute(delete(Subscription).where(Subscription.id.in_(ids)))
        return int(getattr(result, "rowcount", 0) or 0)

    async def due(self, now: datetime) -> list[Subscription]:
        return await self._subscriptions(
            Subscription.paused_at.is_(None),
            or_(Subscription.next_due_at.is_(None), Subscription.next_due_at <= now),
        )

    async def newest_article_id(self) -> int:
        return int(await self.session.scalar(select(func.max(Article.id))) or 0)

    async def articles_between(
        self, after_id: int, upto_id: int, stored_since: datetime | None = None
    ) -> list[NewArticle]:
        """Articles with `after_id < id <= upto_id`, and any stored since `stored_since` with a
        lower id (a transaction that committed late), oldest first, bodies flattened."""
        if stored_since is None:
            return await self._articles(Article.id > after_id, Article.id <= upto_id)
        return await self._articles(
            Article.id > after_id - LATE_COMMITS.id_span,
            Article.id <= upto_id,
            or_(Article.id > after_id, Article.created_at >= stored_since),
        )

    async def _articles(self, *conditions: Any) -> list[NewArticle]:
        result = await self.session.execute(
            select(*VIEW_COLUMNS, Article.paragraphs, Article.created_at)
            .outerjoin(Category, Category.id == Article.category_id)
            .where(*conditions)
            .order_by(Article.id)
        )
        rows = list(result.mappings())
        tags = await self._tag_names([row["id"] for row in rows])
        return [
            NewArticle(
                **{
                    **row,
                    "story_id": row["story_id"] if row["story_id"] is not None else row["id"],
                    "summary": row["summary"] or row["digest"] or "",
                    "paragraphs": row["paragraphs"] or [],
                    "tags": tuple(tags.get(row["id"], ())),
                }
            )
            for row in rows
        ]

    async def _tag_names(self, article_ids: Sequence[int]) -> dict[int, list[str]]:
        names: dict[int, list[str]] = {}
        for start in range(0, len(article_ids), 500):
            rows = await self.session.execute(
                select(article_tags.c.article_id, Tag.name)
                .join(Tag, Tag.id == article_tags.c.tag_id)
                .where(article_tags.c.article_id.in_(article_ids[start : start + 500]))
            )
            for article_id, name in rows:
                names.setdefault(article_id, []).append(name)
        return names

    async def known_stories(
        self, subscription_ids: Sequence[int], story_ids: Iterable[int]
    ) -> set[tuple[int, int]]:
        """(subscription, story) pairs already in the ledger, to push one article per story."""
        stories = list(set(story_ids))
        if not subscription_ids or not stories:
            return set()
        wanted = set(subscription_ids)
        known: set[tuple[int, int]] = set()
        for start in range(0, len(stories), 500):
            rows = await self.session.execute(
                select(Delivery.subscription_id, Delivery.story_id).where(
                    Delivery.story_id.in_(stories[start : start + 500])
                )
            )
            known.update((sub, story) for sub, story in rows if story is not None and sub in wanted)
        return known

    async def record_plans(self, plans: Sequence[Plan]) -> int:
        """Queue the picked articles, skip the ones over the cap, move cursors: all or nothing."""
        rows: list[dict[str, Any]] = []
        now = utcnow()
        for plan in plans:
            for articles, state, reason in (
                (plan.picked, DeliveryState.PENDING, None),
                (plan.over_cap, DeliveryState.SKIPPED, "over the cap of items per push"),
            ):
                rows += [
                    _ledger_row(plan.subscription_id, a.id, a.story_id, state, reason, now)
                    for a in articles
                ]
        if rows:
            await self.session.execute(_insert_ignoring_duplicates(self._dialect), rows)
        moves: dict[tuple[int, datetime | None], list[int]] = {}
        for plan in plans:
            moves.setdefault((plan.cursor, plan.next_due_at), []).append(plan.subscription_id)
        for (cursor, next_due_at), ids in moves.items():
            for start in range(0, len(ids), 500):
                await self.session.execute(
                    update(Subscription)
                    .where(Subscription.id.in_(ids[start : start + 500]))
                    .values(cursor_article_id=cursor, next_due_at=next_due_at)
                    .execution_options(synchronize_session=False)
                )
        return sum(len(plan.picked) for plan in plans)

    async def pending(self) -> tuple[list[Subscription], list[QueuedDelivery]]:
        """Every pending row of an active subscription, in article order."""
        rows = (
            await self.session.execute(
                select(Delivery.id, Delivery.subscription_id, Delivery.article_id)
                .join(Subscription, Subscription.id == Delivery.subscription_id)
                .where(Delivery.state == DeliveryState.PENDING, Subscription.paused_at.is_(None))
                .order_by(Delivery.subscription_id, Delivery.article_id)
            )
        ).all()
        if not rows:
            return [], []
        article_ids = sorted({row.article_id for row in rows})
        articles: dict[int, NewArticle] = {}
        for start in range(0, len(article_ids), 500):
            chunk = Article.id.in_(article_ids[start : start + 500])
            articles.update((article.id, article) for article in await self._articles(chunk))
        subscription_ids = sorted({row.subscription_id for row in rows})
        subscriptions = await self._subscriptions(Subscription.id.in_(subscription_ids))
        queued = [
            QueuedDelivery(row.id, row.subscription_id, articles[row.article_id])
            for row in rows
            if row.article_id in articles
        ]
        return subscriptions, queued

    async def pause(self, subscription_ids: Sequence[int], reason: str) -> None:
        """Stop pushing to a chat that refused us, and close its open rows with the reason."""
        await self.session.execute(
            update(Subscription)
            .where(Subscription.id.in_(subscription_ids))
            .values(paused_at=utcnow(), paused_reason=reason)
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(
            update(Delivery)
            .where(
                Delivery.subscription_id.in_(subscription_ids),
                Delivery.state == DeliveryState.PENDING,
            )
            .values(state=DeliveryState.FAILED, last_error=reason)
        )

    async def pause_chat(self, chat_id: int, reason: str) -> list[int]:
        """Pause every active subscription of a chat at once (the bot was removed or blocked),
        so the push job does not even try; their open rows close with the reason. Subscriptions
        paused already keep their first reason. Returns the ids paused now."""
        ids = await self._chat_ids(chat_id, paused=False)
        if ids:
            await self.pause(ids, reason)
        return ids

    async def resume_chat(
        self, chat_id: int, *, skip_stored_since: datetime | None = None
    ) -> list[int]:
        """Resume a chat's paused subscriptions from now on. Returns the ids resumed.

        Their cursor moves to the newest stored article, so a chat coming back is not flooded
        with everything stored while the bot was away: only news stored after the resume is
        pushed. The push job also looks below a cursor for articles stored recently (late
        commits); those stored since `skip_stored_since` get a `skipped` ledger row so they do
        not slip through that window either, and rows still pending are skipped the same way.
        """
        ids = await self._chat_ids(chat_id, paused=True)
        if not ids:
            return []
        newest = await self.newest_article_id()
        await self.session.execute(
            update(Subscription)
            .where(Subscription.id.in_(ids))
            .values(
                paused_at=None,
                paused_reason=None,
                cursor_article_id=case(
                    (Subscription.cursor_article_id < newest, newest),
                    else_=Subscription.cursor_article_id,
                ),
            )
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(
            update(Delivery)
            .where(Delivery.subscription_id.in_(ids), Delivery.state == DeliveryState.PENDING)
            .values(state=DeliveryState.SKIPPED, last_error=MISSED_WHILE_PAUSED)
        )
        if skip_stored_since is not None:
            await self._skip_stored_since(ids, newest, skip_stored_since)
        return ids

    async def _chat_ids(self, chat_id: int, *, paused: bool) -> list[int]:
        state = Subscription.paused_at.is_not(None) if paused else Subscription.paused_at.is_(None)
        stmt = select(Subscription.id).where(Subscription.chat_id == chat_id, state)
        return list(await self.session.scalars(stmt.order_by(Subscription.id)))

    async def _skip_stored_since(
        self, subscription_ids: Sequence[int], upto_id: int, since: datetime
    ) -> None:
        missed = (
            await self.session.execute(
                select(Article.id, Article.story_id).where(
                    Article.id > upto_id - LATE_COMMITS.id_span,
                    Article.id <= upto_id,
                    Article.created_at >= since,
                )
            )
        ).all()
        now = utcnow()
        rows = [
            _ledger_row(sub_id, row.id, row.story_id or row.id, SKIPPED, MISSED_WHILE_PAUSED, now)
            for sub_id in subscription_ids
            for row in missed
        ]
        if rows:
            await self.session.execute(_insert_ignoring_duplicates(self._dialect), rows)

    async def move_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        """A group became a supergroup: every subscription of it follows the new id."""
        await self.session.execute(
            update(Subscription)
            .where(Subscription.chat_id == old_chat_id)
            .values(chat_id=new_chat_id, chat_type="supergroup")
        )

    async def pending_count(self) -> int:
        """Deliveries still to send (the push backlog); answered from the state index."""
        return int(
            await self.session.scalar(
                select(func.count()).where(Delivery.state == DeliveryState.PENDING)
            )
            or 0
        )


def _ledger_row(
    subscription_id: int,
    article_id: int,
    story_id: int,
    state: str,
    error: str | None,
    now: datetime,
) -> dict[str, Any]:
    return {
        "subscription_id": subscription_id,
        "article_id": article_id,
        "story_id": story_id,
        "state": state,
        "attempts": 0,
        "last_error": error,
        "created_at": now,
    }


def _insert_ignoring_duplicates(dialect: str, table: Any = Delivery) -> Any:
    """An INSERT that leaves rows already in the table alone (the ledger, the lease)."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return insert(table).on_conflict_do_nothing()


_BY_IDS = Delivery.id.in_(bindparam("b_ids", expanding=True))
_MARK_SENT = (
    update(Delivery)
    .where(_BY_IDS)
    .values(
        state=DeliveryState.SENT,
        attempts=Delivery.attempts + 1,
        message_id=bindparam("b_message_id"),
        sent_at=bindparam("b_at"),
        last_error=None,
    )
)
_MARK_FAILED = (
    update(Delivery)
    .where(_BY_IDS)
    .values(
        state=DeliveryState.FAILED, attempts=Delivery.attempts + 1, last_error=bindparam("b_error")
    )
)
_RECORD_ATTEMPT = (
    update(Delivery)
    .where(_BY_IDS)
    .values(attempts=Delivery.attempts + 1, last_error=bindparam("b_error"))
)


class Ledger:
    """The hot path of the fan-out: one short transaction per confirmed message.

    Each write is one UPDATE, atomic on its own, so the connection held for the fan-out
    (`async with ledger:`) runs in autocommit: one round trip per message instead of
    BEGIN, UPDATE and COMMIT, and no ORM or pool checkout on the way.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._conn: AsyncConnection | None = None

    async def __aenter__(self) -> Ledger:
        conn = await self.db.engine.connect()
        self._conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        return self

    async def __aexit__(self, *exc: object) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()

    async def mark_sent(self, delivery_ids: Sequence[int], message_id: int | None) -> None:
        await self._write(
            _MARK_SENT, {"b_ids": list(delivery_ids), "b_message_id": message_id, "b_at": utcnow()}
        )

    async def mark_failed(self, delivery_ids: Sequence[int], error: str) -> None:
        await self._write(_MARK_FAILED, {"b_ids": list(delivery_ids), "b_error": error[:1000]})

    async def record_attempt(self, delivery_ids: Sequence[int], error: str) -> None:
        """A try that did not get through; the row stays pending."""
        await self._write(_RECORD_ATTEMPT, {"b_ids": list(delivery_ids), "b_error": error[:1000]})

    async def _write(self, statement: Any, values: dict[str, Any]) -> None:
        if self._conn is None:
            async with self.db.engine.begin() as conn:
                await conn.execute(statement, values)
            return
        await self._conn.execute(statement, values)

    async def pause(self, subscription_id: int, reason: str) -> None:
        async with self.db.session() as session, session.begin():
            await PushRepository(session).pause([subscription_id], reason)

    async def move_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        async with self.db.session() as session, session.begin():
            await PushRepository(session).move_chat(old_chat_id, new_chat_id)


class Lease(Protocol):
    """The right to push; only one holder at a time across every replica."""

    async def acquire(self) -> bool: ...

    async def held(self) -> bool:
        """True while still ours; renews when due. Checked before every send."""
        ...

    async def release(self) -> None: ...


LEASE_NAME = "push"


_LOCK = "SELECT {}(hashtext('newsbot.' || :name || ':' || current_schema()))"


class PostgresLease:
    """A session-level `pg_try_advisory_lock` on a connection of its own.

    The server drops the lock when the connection ends, so a killed replica never blocks the
    others. The key is derived from the schema, so stores in separate schemas do not collide.
    """

    CHECK_EVERY = 5.0

    def __init__(self, db: Database) -> None:
        self.db = db
        self._conn: AsyncConnection | None = None
        self._checked_at = 0.0

    async def acquire(self) -> bool:
        if self._conn is not None:
            return True
        conn = await self.db.engine.connect()
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = await conn.scalar(
                text(_LOCK.format("pg_try_advisory_lock")), {"name": LEASE_NAME}
            )
        except BaseException:
            await conn.close()
            raise
        if not got:
            await conn.close()
            return False
        self._conn = conn
        self._checked_at = time.monotonic()
        return True

    async def held(self) -> bool:
        if self._conn is None:
            return False
        if time.monotonic() - self._checked_at < self.CHECK_EVERY:
            return True
        try:
            await self._conn.scalar(text("SELECT 1"))
        except Exception:
            self._conn = None
            return False
        self._checked_at = time.monotonic()
        return True

    async def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            await conn.execute(text(_LOCK.format("pg_advisory_unlock")), {"name": LEASE_NAME})
        finally:
            await conn.close()


class RowLease:
    """A lease row with an expiry, renewed while pushing; a dead holder's row simply expires."""

    def __init__(self, db: Database, ttl: timedelta = timedelta(seconds=30)) -> None:
        self.db = db
        self.ttl = ttl
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._valid_until = 0.0

    async def acquire(self) -> bool:
        now = utcnow()
        started = time.monotonic()
        async with self.db.engine.begin() as conn:
            taken = await conn.execute(
                update(PushLease)
                .where(
                    PushLease.name == LEASE_NAME,
                    or_(PushLease.holder == self.holder, PushLease.expires_at < now),
                )
                .values(holder=self.holder, expires_at=now + self.ttl)
            )
            if not getattr(taken, "rowcount", 0):
                exists = await conn.scalar(
                    select(func.count()).select_from(PushLease).where(PushLease.name == LEASE_NAME)
                )
                if exists:
                    return False
                await conn.execute(
                    _insert_ignoring_duplicates(conn.dialect.name, PushLease).values(
                        name=LEASE_NAME, holder=self.holder, expires_at=now + self.ttl
                    )
                )
        async with self.db.engine.connect() as conn:
            holder = await conn.scalar(select(PushLease.holder).where(PushLease.name == LEASE_NAME))
        if holder != self.holder:
            return False
        self._valid_until = started + self.ttl.total_seconds()
        return True

    async def held(self) -> bool:
        """Renew once a third of the lease is used; give up if anyone else has taken it."""
        remaining = self._valid_until - time.monotonic()
        if remaining > self.ttl.total_seconds() * 2 / 3:
            return True
        if remaining <= 0:
            return await self.acquire()
        started = time.monotonic()
        async with self.db.engine.begin() as conn:
            renewed = await conn.execute(
                update(PushLease)
                .where(PushLease.name == LEASE_NAME, PushLease.holder == self.holder)
                .values(expires_at=utcnow() + self.ttl)
            )
        if getattr(renewed, "rowcount", 0):
            self._valid_until = started + self.ttl.total_seconds()
            return True
        self._valid_until = 0.0
        return False

    async def release(self) -> None:
        self._valid_until = 0.0
        async with self.db.engine.begin() as conn:
            await conn.execute(
                delete(PushLease).where(
                    PushLease.name == LEASE_NAME, PushLease.holder == self.holder
                )
            )


def lease_for(db: Database, ttl: timedelta = timedelta(seconds=30)) -> Lease:
    """An advisory lock on PostgreSQL, a lease row elsewhere."""
    if db.dialect == "postgresql":
        return PostgresLease(db)
    return RowLease(db, ttl)

"""The push job against a flood-limiting fake Bot API: exactly once, within the limits.

The fake enforces Telegram's limits by answering 429. To keep the 1,000-subscription test
short, the fake's global limit is raised to 150 messages a second and the governor is told the
same number; the assertions are that the fake never had to refuse anything and that no
one-second window ever held more than the limit. The benchmark runs at Telegram's real 30/s.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fakebotapi import TOKEN, FakeBotAPI
from push_support import (
    arrivals,
    article,
    batch,
    distinct_text,
    ledger_counts,
    second_replica,
    store_articles,
    subscribe,
    subscriptions,
)
from sqlalchemy import insert
from telegram import Bot

from bot.push.delivery import Pusher
from bot.push.governor import FloodLimits
from bot.telegram_push import TelegramMessenger
from storage.db import Database
from storage.models import Article
from storage.push_repository import RowLease, SubscriptionSpec, lease_for

TZ = ZoneInfo("Asia/Shanghai")
FAST = FloodLimits(per_second=150, per_group_minute=20, private_interval=1.0)


@pytest.fixture
def fake() -> Iterator[FakeBotAPI]:
    with FakeBotAPI(token_required=TOKEN, flood_limits=True, global_per_second=150) as server:
        yield server


@pytest.fixture
async def bot(fake: FakeBotAPI) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=fake.base_url) as client:
        yield client


def pusher(db: Database, bot: Bot, limits: FloodLimits = FAST) -> Pusher:
    return Pusher(
        db, TelegramMessenger(bot), lease_for(db, timedelta(seconds=10)), tz=TZ, limits=limits
    )


@pytest.mark.slow
async def test_a_thousand_subscriptions_get_every_article_exactly_once(
    database: Database, fake: FakeBotAPI, bot: Bot
) -> None:
    users = [SubscriptionSpec(chat_id=10_000 + n, chat_type="private") for n in range(941)]
    groups = [SubscriptionSpec(chat_id=-1_000_000 - n, chat_type="supergroup") for n in range(50)]
    topics = [
        SubscriptionSpec(chat_id=-5_000, chat_type="supergroup", message_thread_id=topic)
        for topic in (11, 12, 13)
    ]
    blocked = [SubscriptionSpec(chat_id=99_000 + n, chat_type="private") for n in range(5)]
    upgraded = [SubscriptionSpec(chat_id=-77, chat_type="group")]
    ids = await subscribe(database, users + groups + topics + blocked + upgraded)
    assert len(ids) == 1_000
    for spec in blocked:
        fake.forbid(spec.chat_id, "bot was blocked by the user")
    fake.migrate(-77, -1_000_777)

    await store_articles(database, batch("fanout", 2))
    report = await pusher(database, bot).run_once()

    delivered = arrivals(fake.sent)
    expected = {
        (spec.chat_id, spec.message_thread_id, f"fanout-{n}")
        for spec in users + groups + topics
        for n in range(2)
    } | {(-1_000_777, None, f"fanout-{n}") for n in range(2)}
    assert set(delivered) == expected
    assert max(delivered.values()) == 1
    assert report.items_sent == len(expected) == 1_990
    assert fake.too_many_requests == 0
    assert fake.max_in_window(1.0) <= 150
    assert all(fake.max_in_window(60.0, chat) <= 20 for chat in {-5_000, -1_000_777})

    stored = await subscriptions(database)
    paused = {sub.chat_id: sub.paused_reason for sub in stored.values() if sub.paused_at}
    assert set(paused) == {spec.chat_id for spec in blocked}
    assert all("blocked by the user" in (reason or "") for reason in paused.values())
    assert {sub.chat_id for sub in stored.values()} >= {-1_000_777}
    assert -77 not in {sub.chat_id for sub in stored.values()}

    async with database.session() as session:
        counts = await ledger_counts(session)
    assert counts == {"sent": 1_990, "failed": 10}

    again = await pusher(database, bot).run_once()
    assert again.items_sent == 0
    assert len(fake.sent) == 1_990


async def test_flood_answers_are_waited_out_and_nothing_is_dropped(
    database: Database, fake: FakeBotAPI, bot: Bot
) -> None:
    """A governor that believes in a higher limit than the server's still loses nothing."""
    fake.global_per_second = 5
    await subscribe(
        database, [SubscriptionSpec(chat_id=500 + n, chat_type="private") for n in range(12)]
    )
    await store_articles(database, batch("flood", 1))

    report = await pusher(database, bot, FloodLimits(per_second=1_000)).run_once()

    assert fake.too_many_requests > 0
    assert report.flood_waits == fake.too_many_requests
    assert sorted(arrivals(fake.sent).values()) == [1] * 12


async def test_a_group_at_its_limit_waits_while_other_chats_keep_flowing(
    database: Database, fake: FakeBotAPI, bot: Bot
) -> None:
    """The group limit with a two-second window instead of a minute, on both sides."""
    fake.group_per_minute, fake.group_window = 2, 2.0
    limits = FloodLimits(per_second=150, per_group_minute=2, private_interval=0.2, group_window=2.0)
    await subscribe(
        database,
        [SubscriptionSpec(chat_id=-42, chat_type="supergroup")]
        + [SubscriptionSpec(chat_id=700 + n, chat_type="private") for n in range(3)],
    )
    await store_articles(database, batch("group", 3))

    report = await asyncio.wait_for(pusher(database, bot, limits).run_once(), timeout=30)

    assert report.items_sent == 12 and report.flood_waits == 0
    assert fake.too_many_requests == 0
    first, _, third = [m for m in fake.sent if m.chat_id == -42]
    assert third.at - first.at >= 2.0
    assert all(m.at < third.at for m in fake.sent if m.chat_id > 0)


async def test_a_bad_request_for_one_item_is_recorded_and_the_rest_still_go(
    database: Database, fake: FakeBotAPI, bot: Bot
) -> None:
    await subscribe(
        database,
        [
            SubscriptionSpec(chat_id=-300, chat_type="supergroup", message_thread_id=9),
            SubscriptionSpec(chat_id=301, chat_type="private"),
        ],
    )
    fake.reject(-300, "message thread not found")
    await store_articles(database, batch("bad", 2))

    report = await pusher(database, bot).run_once()

    assert report.items_failed == 2 and report.items_sent == 2
    assert {m.chat_id for m in fake.sent} == {301}
    async with database.session() as session:
        assert await ledger_counts(session) == {"failed": 2, "sent": 2}
    assert all(sub.paused_at is None for sub in (await subscriptions(database)).values())


async def test_a_second_replica_is_kept_out_while_the_lease_is_held(database: Database) -> None:
    replica = await second_replica(database)
    try:
        first, second = lease_for(database), lease_for(replica)
        assert await first.acquire()
        assert not await second.acquire()
        await first.release()
        assert await second.acquire()
        await second.release()
    finally:
        await replica.dispose()


async def test_an_expired_row_lease_passes_to_the_next_replica(sqlite_database: Database) -> None:
    crashed = RowLease(sqlite_database, ttl=timedelta(seconds=0.3))
    successor = RowLease(sqlite_database, ttl=timedelta(seconds=0.3))
    assert await crashed.acquire()
    assert not await successor.acquire()
    await asyncio.sleep(0.4)
    assert await successor.acquire()
    assert not await crashed.held()


async def test_a_digest_waits_for_its_time_then_sends_everything_split_at_the_limit(
    database: Database, fake: FakeBotAPI, bot: Bot
) -> None:
    (digest_id,) = await subscribe(
        database,
        [SubscriptionSpec(chat_id=-900, chat_type="supergroup", schedule="every:60", max_items=50)],
    )
    job = pusher(database, bot)
    start = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    assert (await job.run_once(now=start)).planned == 0

    titles = [distinct_text(f"long-{n}", 150) for n in range(40)]
    await store_articles(database, [article(f"long-{n}", title) for n, title in enumerate(titles)])
    early = await job.run_once(now=start + timedelta(minutes=59))
    assert early.planned == 0 and fake.sent == []

    due = await job.run_once(now=start + timedelta(minutes=60))
    assert due.planned == 40 and due.items_sent == 40
    assert 1 < due.messages_sent == len(fake.sent) < 40
    assert all(len(message.text) <= 4096 for message in fake.sent)
    assert all(message.text.startswith("<b>新闻摘要 · 40 条</b>") for message in fake.sent)
    assert sorted(arrivals(fake.sent).values()) == [1] * 40
    stored = (await subscriptions(database))[digest_id]
    assert stored.next_due_at == start + timedelta(minutes=120)


async def test_network_failures_back_off_and_leave_rows_pending_for_the_next_round(
    database: Database, fake: FakeBotAPI, bot: Bot
) -> None:
    await subscribe(database, [SubscriptionSpec(chat_id=808, chat_type="private")])
    await store_articles(database, batch("offline", 2))
    waits: list[float] = []
    virtual_time = [0.0]

    async def no_wait(seconds: float) -> None:
        waits.append(seconds)
        virtual_time[0] += seconds

    offline = Bot(TOKEN, base_url="http://127.0.0.1:9/bot")
    lease = lease_for(database, timedelta(seconds=10))
    cut_off = Pusher(
        database,
        TelegramMessenger(offline),
        lease,
        tz=TZ,
        limits=FAST,
        sleep=no_wait,
        clock=lambda: virtual_time[0],
    )
    report = await cut_off.run_once()
    await offline.shutdown()

    assert report.items_left_pending == 2 and report.network_retries == 2 * 7
    backoffs = [wait for wait in waits if wait in {0.5, 1.0, 2.0, 4.0, 8.0, 16.0}]
    assert backoffs == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0] * 2
    async with database.session() as session:
        assert await ledger_counts(session) == {"pending": 2}

    resumed = await pusher(database, bot).run_once()
    assert resumed.planned == 0 and resumed.items_sent == 2
    assert sorted(arrivals(fake.sent)) == [(808, None, "offline-0"), (808, None, "offline-1")]


async def test_an_article_whose_transaction_commits_late_is_still_pushed(
    database: Database, fake: FakeBotAPI, bot: Bot
) -> None:
    """Two ingests at once (two replicas): a lower id can commit after a higher one was pushed."""
    if database.dialect == "sqlite":
        pytest.skip("SQLite has one writer at a time, so ids always commit in order")
    await subscribe(database, [SubscriptionSpec(chat_id=919, chat_type="private")])
    job = pusher(database, bot)
    async with database.engine.connect() as slow_ingest:
        await slow_ingest.execute(insert(Article).values(**bare_article("late-1")))
        async with database.engine.begin() as quick_ingest:
            await quick_ingest.execute(insert(Article).values(**bare_article("late-2")))
        assert (await job.run_once()).items_sent == 1
        await slow_ingest.commit()

    assert (await job.run_once()).items_sent == 1
    assert sorted(arrivals(fake.sent)) == [(919, None, "late-1"), (919, None, "late-2")]
    assert (await job.run_once()).items_sent == 0


def bare_article(key: str) -> dict[str, object]:
    """Just the article row, as an ingest writes it before its index and story bookkeeping."""
    record = article(key, f"新闻 {key}")
    return {
        "key": key,
        "title": record.title,
        "published_at": record.published_at,
        "paragraphs": [[text, heading] for text, heading in record.paragraphs],
        "summary": record.summary,
        "summary_version": 1,
        "share_url": record.share_url,
        "content_hash": record.content_hash,
    }

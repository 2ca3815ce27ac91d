"""Trending terms: counted per story and hour at ingest, ranked by their burst against the
weeks before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from storage.db import Database
from storage.derive import story_terms
from storage.models import TermBucket
from storage.records import ArticleRecord
from storage.repository import ArticleRepository
from storage.trending import (
    ALL_STORIES,
    KEPT_HOURS,
    NewStory,
    TrendingCache,
    WindowCount,
    add_stories,
    bucket_of,
    log_likelihood_ratio,
    rank_terms,
    rebuild_term_counts,
    source_hash,
    trending_query,
    trending_terms,
)

NOW = datetime(2024, 3, 1, 12, tzinfo=UTC)


def test_the_ratio_is_zero_for_equal_rates_and_grows_with_the_gap() -> None:
    assert log_likelihood_ratio(5, 50, 100, 1000) == 0.0
    weak = log_likelihood_ratio(10, 50, 100, 1000)
    strong = log_likelihood_ratio(30, 50, 100, 1000)
    assert 0 < weak < strong


def test_the_ratio_copes_with_empty_sides() -> None:
    assert log_likelihood_ratio(3, 3, 0, 100) > 0
    assert log_likelihood_ratio(0, 0, 5, 100) == 0.0


def test_stop_words_numbers_and_single_characters_are_not_trends() -> None:
    terms = set(story_terms("记者表示，2022年的芯片短缺仍在持续，的确如此。", ""))
    assert "芯片" in terms
    assert not {"记者", "表示", "2022", "的", "年"} & terms
    assert story_terms("芯片短缺", "芯片短缺影响生产。")[:2] == ("芯片", "短缺")


async def hours_counted(database: Database) -> list[int]:
    async with database.session() as session:
        found = await session.execute(
            select(TermBucket.bucket).where(TermBucket.term == ALL_STORIES).order_by("bucket")
        )
        return [int(hour) for hour in found.scalars()]


async def test_only_the_newest_kept_hours_are_counted(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An archive loaded oldest first keeps the counts of its last `KEPT_HOURS`, or of its
    newest `KEPT_STORIES` stories when they reach further back; a story dated years ahead does
    not make today's too old; a reindex keeps what an ingest does."""
    monkeypatch.setattr("storage.trending.KEPT_STORIES", 2)
    newest = datetime.now(UTC) - timedelta(hours=3)
    days = [newest - timedelta(days=d) for d in (40, 31, 29, 1, 0)]
    for when in days:
        async with database.session() as session, session.begin():
            await add_stories(session, [NewStory(when, "甲", ("芯片",))])
    kept = [bucket_of(when) for when in days[2:]]
    assert await hours_counted(database) == kept
    assert bucket_of(newest) - bucket_of(days[2]) < KEPT_HOURS
    async with database.session() as session, session.begin():
        await add_stories(
            session,
            [
                NewStory(datetime.now(UTC) + timedelta(days=3 * 365), "乙", ("芯片",)),
                NewStory(days[0], "甲", ("芯片",)),  # too old: dropped again
            ],
        )
    ahead = await hours_counted(database)
    assert ahead[:3] == kept and len(ahead) == 4

    async with database.session() as session, session.begin():
        await ArticleRepository(session).upsert_many(
            [
                record(f"k{n}", f"{TOPICS[n]}消息：{SHORTAGE[n * 9 : n * 9 + 12]}", when, "甲")
                for n, when in enumerate(days)
            ]
        )
        assert await rebuild_term_counts(session) == 3
    assert await hours_counted(database) == kept
    monkeypatch.setattr("storage.trending.KEPT_STORIES", 4)
    async with database.session() as session, session.begin():
        assert await rebuild_term_counts(session) == 4
    assert await hours_counted(database) == [bucket_of(days[1]), *kept]


async def test_new_stories_count_per_hour_with_their_source_range(database: Database) -> None:
    hour = datetime(2024, 3, 1, 10, 5, tzinfo=UTC)
    async with database.session() as session, session.begin():
        await add_stories(
            session,
            [
                NewStory(hour, "甲", ("芯片", "短缺")),
                NewStory(hour + timedelta(minutes=30), "乙", ("芯片",)),
                NewStory(hour + timedelta(hours=1), "甲", ("芯片",)),
            ],
        )
        await add_stories(session, [NewStory(hour, "丙", ("短缺",))])
        rows = (await session.execute(select(TermBucket))).scalars().all()
    by_key = {(r.term, r.bucket): r for r in rows}
    first = min(r.bucket for r in rows)
    assert len(rows) == 5
    chip = by_key["芯片", first]
    assert chip.stories == 2
    assert (chip.source_lo, chip.source_hi) == tuple(sorted((source_hash("甲"), source_hash("乙"))))
    assert by_key[ALL_STORIES, first].stories == 3
    assert by_key["芯片", first + 1].stories == 1
    shortage = by_key["短缺", first]
    codes = sorted((source_hash("甲"), source_hash("丙")))
    assert (shortage.stories, shortage.source_lo, shortage.source_hi) == (2, *codes)


def test_a_burst_beats_a_common_word_and_one_story_is_not_a_trend() -> None:
    window = [
        WindowCount("市场", 30, 2),
        WindowCount("芯片", 8, 2),
        WindowCount("独家", 9, 1),
        WindowCount("孤例", 1, 1),
    ]
    background = {"市场": 200, "芯片": 3, "独家": 1}
    ranked = rank_terms(window, background, 50, 400, limit=10)
    assert [t.term for t in ranked] == ["芯片", "独家"], "市场 is as common before; 孤例 is one"
    assert ranked[0].count == 8 and ranked[0].background_count == 3
    assert ranked[1].score > ranked[0].score, "two sources rank first even when less surprising"
    assert rank_terms(window, background, 50, 49, limit=10) == [], "too thin a background"


def record(
    key: str, title: str, when: datetime, source: str, body: str | None = None
) -> ArticleRecord:
    return ArticleRecord(
        key=key,
        title=title,
        published_at=when,
        category="news",
        tags=(),
        source=source,
        digest=None,
        paragraphs=[(body or f"{title}。正文{key}第一段。", False)],
        summary=title,
        summary_version=1,
        share_url=None,
        file=None,
        content_hash=key,
    )


SHORTAGE = (
    "全球芯片短缺持续，多家汽车厂商宣布减产，零部件供应商表示交货周期已延长至半年以上，"
    "业内人士预计供需紧张局面将延续到明年下半年。"
)
TOPICS = ["港口", "农业", "教育", "体育", "医疗", "交通", "能源", "旅游", "银行", "气象"]


async def test_ingest_keeps_the_counts_and_trending_reads_them(database: Database) -> None:
    """Both backends: background weeks of ordinary news, then a day in which 芯片 bursts (in
    three stories from two sources, one copied by a third feed) while 市场 stays as common."""
    records = []
    for day in range(14, 0, -1):
        for i, topic in enumerate(TOPICS):
            when = NOW - timedelta(days=day, hours=i)
            records.append(record(f"bg{day}-{i}", f"{topic}市场今日回暖，第{day}期", when, "日报"))
    recent = NOW - timedelta(hours=2)
    records += [
        record("c1", "芯片短缺影响汽车市场", recent, "日报", SHORTAGE),
        record("c2", "芯片价格上涨冲击手机市场", recent, "晚报"),
        record("c3", "芯片产能扩张提速", recent - timedelta(hours=1), "日报"),
        record("c4", "港口运输市场回暖", recent, "日报"),
    ]
    copy = record("c1-copy", "芯片短缺影响汽车市场", recent, "快讯", SHORTAGE)
    async with database.session() as session, session.begin():
        await ArticleRepository(session).upsert_many(records)
    async with database.session() as session, session.begin():
        await ArticleRepository(session).upsert_many([copy])

    async with database.session() as session:
        terms = await trending_terms(session, hours=24, limit=10, now=NOW)
    chip = next(t for t in terms if t.term == "芯片")
    assert terms[0] == chip
    assert (chip.count, chip.background_count, chip.sources) == (3, 0, 2), "the copy counts once"
    assert all(t.count >= 2 for t in terms)
    assert "市场" not in {t.term for t in terms}

    async with database.session() as session:
        before = await session.scalar(select(func.count()).select_from(TermBucket))
        assert await trending_terms(session, hours=24, now=NOW - timedelta(days=30)) == []
    async with database.session() as session, session.begin():
        assert await rebuild_term_counts(session) == len(records)
    async with database.session() as session:
        assert await session.scalar(select(func.count()).select_from(TermBucket)) == before
        assert await trending_terms(session, hours=24, limit=10, now=NOW) == terms


async def test_the_cache_answers_as_the_query_until_a_story_or_the_hour_is_new(
    database: Database,
) -> None:
    """Kept answers equal fresh ones: cut to a shorter limit, recomputed when the hour turns
    and when a new story arrived and the answer is older than `fresh_for`; a recount by
    another process is seen after `max_age`."""
    records = [
        record(
            f"bg{day}-{i}",
            f"{topic}市场今日回暖，第{day}期",
            NOW - timedelta(days=day, hours=i),
            "日报",
        )
        for day in range(10, 0, -1)
        for i, topic in enumerate(TOPICS)
    ]
    recent = NOW - timedelta(hours=2)
    records += [
        record("c1", "芯片短缺影响汽车生产", recent, "日报"),
        record("c2", "芯片价格上涨冲击手机", recent, "晚报"),
    ]
    async with database.session() as session, session.begin():
        await ArticleRepository(session).upsert_many(records)
    cache = TrendingCache(depth=10, fresh_for=3600.0)

    async def both(limit: int, now: datetime) -> tuple[list[object], list[object]]:
        def read(session):  # type: ignore[no-untyped-def]
            kept = cache.query(session, hours=24, limit=limit, now=now)
            return kept, trending_query(session, hours=24, limit=limit, now=now)

        async with database.session() as session:
            return await session.run_sync(read)

    kept, fresh = await both(10, NOW)
    assert kept == fresh and [t.term for t in fresh][:1] == ["芯片"]
    kept, fresh = await both(1, NOW)
    assert kept == fresh and len(kept) == 1
    assert cache.fresh(hours=24, limit=1, now=NOW) == kept, "young: no read needed"
    assert cache.fresh(hours=24, limit=1, now=NOW + timedelta(hours=1)) is None

    async with database.session() as session, session.begin():
        await ArticleRepository(session).upsert_many(
            [
                record("g1", "港口吞吐量创新高", recent, "晚报"),
                record("g2", "港口吞吐量再创新高", recent, "日报"),
            ]
        )
    kept, fresh = await both(10, NOW)
    assert "港口" in {t.term for t in fresh} and "港口" not in {t.term for t in kept}, "still fresh"
    cache.fresh_for = 0.0
    assert cache.fresh(hours=24, limit=10, now=NOW) is None
    kept, fresh = await both(10, NOW)
    assert kept == fresh and "港口" in {t.term for t in kept}, "new stories and a stale answer"
    kept, fresh = await both(10, NOW - timedelta(days=30))
    assert kept == fresh == [], "another hour is another answer"

    await both(10, NOW)
    async with database.session() as session, session.begin():
        await session.execute(TermBucket.__table__.delete())
    kept, fresh = await both(10, NOW)
    assert fresh == [] and kept != [], "a recount keeps the ids: the answer is kept..."
    cache.max_age = 0.0
    kept, fresh = await both(10, NOW)
    assert kept == fresh == [], "...until it is older than max_age"


async def test_migration_0008_counts_the_stories_of_an_existing_store(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from alembic import command

    from storage.db import _alembic_config

    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    await db.upgrade()
    async with db.session() as session, session.begin():
        await ArticleRepository(session).upsert_many(
            [
                record(f"k{i}", f"芯片短缺第{i}期", NOW - timedelta(hours=i), "日报")
                for i in range(3)
            ]
        )
    async with db.engine.begin() as conn:
        await conn.run_sync(lambda sync: command.downgrade(_alembic_config(sync), "0006"))
    await db.upgrade()
    async with db.session() as session:
        chip = await session.scalar(
            select(func.sum(TermBucket.stories)).where(TermBucket.term == "芯片")
        )
    assert chip == 3
    await db.dispose()


def test_each_trending_button_opens_a_search_for_its_term() -> None:
    from zoneinfo import ZoneInfo

    from bot.render.html import RenderContext, render
    from bot.render.keyboards import CallbackStore, OpenPage, parse_callback
    from bot.services.replies import Trending
    from storage.records import TrendingTerm as TermReply

    ctx = RenderContext("zh", ZoneInfo("Asia/Shanghai"), CallbackStore(), in_group=False)
    [message] = render(Trending((TermReply("芯片", 3), TermReply("港口:运输", 2))), ctx)
    assert "芯片</b> — 3 篇报道" in message.html
    assert message.keyboard is not None
    actions = [
        parse_callback(b.callback_data or "", ctx.callbacks) for b in message.keyboard.buttons
    ]
    assert [(a.page.kind, a.page.query) for a in actions if isinstance(a, OpenPage)] == [
        ("search", "芯片"),
        ("search", "港口:运输"),
    ]

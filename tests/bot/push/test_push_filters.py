"""Pure parts of the push: matching, one-per-story choice, schedules, rendering, the governor."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from fakebotapi import html_error

from bot.push.delivery import choose
from bot.push.filters import ArticleFacts, SubscriptionFilter
from bot.push.governor import FloodLimits, SendGovernor
from bot.push.schedule import Schedule, ScheduleError, next_due, parse_schedule
from bot.render.html import MAX_MESSAGE as MESSAGE_LIMIT
from bot.render.html import one_line, render_digest, render_headline
from bot.services.replies import PushItem
from storage.push_repository import NewArticle
from storage.tokenizer import tokenize_document, tokenize_query

SHANGHAI = ZoneInfo("Asia/Shanghai")


def facts(text: str, category: str | None = "finance", tags: tuple[str, ...] = ()) -> ArticleFacts:
    return ArticleFacts.of(text, category, tags, tokenize_document)


def wanting(**parts: list[str]) -> SubscriptionFilter:
    return SubscriptionFilter.build(tokenize=tokenize_query, **parts)  # type: ignore[arg-type]


BANK = facts("央行宣布下调存款准备金率，银行体系流动性充裕", "finance", ("央行", "货币政策"))
CARS = facts("新能源汽车销量创新高，比亚迪领跑", "industry", ("汽车",))
SHARES = facts("A股三大指数收涨，贵州茅台600519涨2%", "markets", ("股市",))


def test_an_empty_filter_takes_everything() -> None:
    assert all(wanting().matches(article) for article in (BANK, CARS, SHARES))


def test_include_keywords_are_alternatives_matched_on_tokens() -> None:
    wanted = wanting(include=["银行", "比亚迪"])
    assert wanted.matches(BANK)
    assert wanted.matches(CARS)
    assert not wanted.matches(SHARES)


def test_codes_and_mixed_latin_terms_match_like_search_does() -> None:
    assert wanting(include=["600519"]).matches(SHARES)
    assert wanting(include=["a股"]).matches(SHARES)
    assert not wanting(include=["600520"]).matches(SHARES)


def test_a_keyword_needs_all_its_tokens_not_just_one_character() -> None:
    assert not wanting(include=["银河"]).matches(BANK)
    assert wanting(include=["存款准备金"]).matches(BANK)


def test_exclude_vetoes_even_when_an_include_matches() -> None:
    wanted = wanting(include=["银行", "汽车"], exclude=["比亚迪"])
    assert wanted.matches(BANK)
    assert not wanted.matches(CARS)


def test_keywords_that_look_like_regular_expressions_are_just_text() -> None:
    wanted = wanting(include=[".*", "(a|b)+$", "[银行]"])
    assert wanted.matches(BANK)
    assert not wanted.matches(CARS)
    assert not wanting(include=["(((((((((("]).matches(SHARES)


def test_categories_and_tags_narrow_and_ignore_case_and_hash_signs() -> None:
    assert wanting(categories=["Finance"]).matches(BANK)
    assert not wanting(categories=["finance"]).matches(CARS)
    assert wanting(tags=["#汽车", "股市"]).matches(CARS)
    assert not wanting(tags=["汽车"]).matches(BANK)
    assert not wanting(categories=["finance"], tags=["汽车"]).matches(CARS)


def new_article(
    article_id: int, text: str, story: int | None = None, **extra: object
) -> NewArticle:
    return NewArticle(
        id=article_id,
        key=str(article_id),
        story_id=story or article_id,
        title=text,
        published_at=datetime(2024, 1, 1, tzinfo=UTC),
        source=None,
        digest=None,
        paragraphs=[(text, False)],
        summary=text,
        summary_version=1,
        share_url=f"https://news.example.org/{article_id}",
        file=None,
        content_hash="",
        category=str(extra.get("category", "finance")),
        tags=tuple(extra.get("tags", ())),  # type: ignore[arg-type]
    )


def facts_of(article: NewArticle, with_tokens: bool) -> ArticleFacts:
    return ArticleFacts.of(
        article.text if with_tokens else "", article.category, article.tags, tokenize_document
    )


def test_two_topics_of_one_forum_each_get_what_their_own_filter_wants() -> None:
    articles = [
        new_article(1, "央行降准释放流动性"),
        new_article(2, "新能源汽车出口大增", category="industry"),
        new_article(3, "银行理财收益回落"),
    ]
    money_topic = choose(11, 0, articles, wanting(include=["央行", "银行"]), facts_of, set(), 10)
    industry_topic = choose(12, 0, articles, wanting(categories=["industry"]), facts_of, set(), 10)
    assert [a.id for a in money_topic[0]] == [1, 3]
    assert [a.id for a in industry_topic[0]] == [2]


def test_one_article_per_story_and_none_for_a_story_already_pushed() -> None:
    articles = [
        new_article(5, "同一新闻 来源甲", story=5),
        new_article(6, "同一新闻 来源乙", story=5),
        new_article(7, "旧新闻的另一来源", story=2),
        new_article(8, "别的新闻", story=8),
    ]
    picked, _ = choose(1, 4, articles, wanting(), facts_of, {(1, 2)}, 10)
    assert [a.id for a in picked] == [5, 8]


def test_the_cursor_and_the_cap_keep_the_newest_and_set_the_rest_aside() -> None:
    articles = [new_article(n, f"新闻{n}") for n in range(1, 8)]
    picked, over_cap = choose(1, 2, articles, wanting(), facts_of, set(), 3)
    assert [a.id for a in picked] == [5, 6, 7]
    assert [a.id for a in over_cap] == [3, 4]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", Schedule()),
        ("now", Schedule()),
        ("即时", Schedule()),
        ("every 30m", Schedule("interval", minutes=30)),
        ("2h", Schedule("interval", minutes=120)),
        ("每15分钟", Schedule("interval", minutes=15)),
        ("daily 08:00", Schedule("daily", at=time(8, 0))),
        ("每天 7:30", Schedule("daily", at=time(7, 30))),
        ("21：05", Schedule("daily", at=time(21, 5))),
    ],
)
def test_schedules_are_read_in_both_languages(text: str, expected: Schedule) -> None:
    assert parse_schedule(text) == expected
    assert Schedule.decode(expected.encode()) == expected


@pytest.mark.parametrize("text", ["every 0m", "25:00", "sometimes", "every 9999h"])
def test_nonsense_schedules_are_refused(text: str) -> None:
    with pytest.raises(ScheduleError):
        parse_schedule(text)


def test_a_daily_digest_falls_due_at_that_local_time_next() -> None:
    eight = Schedule("daily", at=time(8, 0))
    before = datetime(2026, 11, 26, 23, 30, tzinfo=UTC)  # 07:30 the next morning in Shanghai
    assert next_due(eight, before, SHANGHAI) == datetime(2026, 11, 27, 0, 0, tzinfo=UTC)
    after = datetime(2026, 11, 27, 0, 0, tzinfo=UTC)
    assert next_due(eight, after, SHANGHAI) == datetime(2026, 11, 28, 0, 0, tzinfo=UTC)


def test_a_daily_digest_keeps_its_wall_clock_time_across_daylight_saving() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    eight = Schedule("daily", at=time(8, 0))
    saturday = datetime(2026, 10, 24, 7, 0, tzinfo=UTC)  # 09:00 summer time
    sunday = next_due(eight, saturday, berlin)
    assert sunday is not None
    assert sunday.astimezone(berlin).hour == 8 and sunday.astimezone(berlin).day == 25
    assert sunday == datetime(2026, 10, 25, 7, 0, tzinfo=UTC)  # now winter time, UTC+1


def test_interval_and_immediate_schedules() -> None:
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    assert next_due(Schedule("interval", minutes=45), now, SHANGHAI) == now + timedelta(minutes=45)
    assert next_due(Schedule(), now, SHANGHAI) is None


def item(n: int, title: str = "标题", summary: str = "摘要第一句。第二句。") -> PushItem:
    return PushItem(
        n, title, summary, f"https://news.example.org/{n}?a=1&b=2", "finance", ("央行",)
    )


def test_a_headline_is_escaped_bold_and_linked() -> None:
    text = render_headline(item(1, title='<央行> & "银行"'), "zh")
    assert text.startswith("<b>&lt;央行&gt; &amp; &quot;银行&quot;</b>")
    assert "摘要第一句。\n" in text and "第二句" not in text
    assert '<a href="https://news.example.org/1?a=1&amp;b=2">原文</a>' in text
    assert "#finance #央行" in text
    assert html_error(text) is None


def test_a_long_title_and_summary_still_fit_one_message() -> None:
    text = render_headline(item(1, title="<" * 5000, summary="长" * 5000), "en")
    assert len(text) <= MESSAGE_LIMIT
    assert html_error(text) is None
    assert one_line("长" * 200).endswith("…")


def test_a_digest_is_split_on_entry_boundaries_under_the_limit() -> None:
    items = [item(n, title=f"第{n}条 " + "很长的标题" * 20, summary="摘要" * 40) for n in range(60)]
    messages = render_digest(items, "zh", "新闻摘要")
    assert len(messages) > 1
    assert all(len(text) <= MESSAGE_LIMIT and html_error(text) is None for text, _ in messages)
    assert [n for _, carried in messages for n in carried] == list(range(60))
    assert all(text.startswith("<b>新闻摘要</b>") for text, _ in messages)


def test_the_governor_spaces_a_burst_to_the_global_limit() -> None:
    governor = SendGovernor(FloodLimits(per_second=30, margin=0.0))
    clock = 0.0
    for chat in range(100):
        clock = max(clock, governor.ready_at(chat))
        governor.record(chat, clock)
    assert clock == pytest.approx(3.0)  # thirty at 0 s, 1 s and 2 s, the last ten at 3 s


def test_the_governor_holds_a_group_to_twenty_a_minute_but_not_others() -> None:
    governor = SendGovernor(FloodLimits(per_second=30, per_group_minute=20, margin=0.0))
    for n in range(20):
        governor.record(-100, n * 0.1)
    assert governor.chat_ready_at(-100) == pytest.approx(60.0)
    assert governor.chat_ready_at(-200) == 0.0
    assert governor.chat_ready_at(7) == 0.0


def test_the_governor_waits_out_a_flood_answer_for_everyone() -> None:
    governor = SendGovernor()
    governor.hold(12.0)
    assert governor.ready_at(1) == 12.0 and governor.ready_at(-5) == 12.0


def test_hashtags_are_escaped_whole_and_capped() -> None:
    tagged = PushItem(1, "标题", "摘要", None, "R&D", tuple(f"标签{n}" for n in range(20)))
    text = render_headline(tagged, "zh")
    assert text.endswith("#R&amp;D #标签0 #标签1 #标签2 #标签3")
    assert html_error(text) is None

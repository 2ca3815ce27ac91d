"""The renderer, on plain values: Telegram's HTML subset always, 4,096 characters at most,
split between items, everything escaped; callback data within 64 bytes."""

from __future__ import annotations

import html
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from string import Formatter
from zoneinfo import ZoneInfo

import pytest
from fakebotapi import EntityError, parse_telegram_html, utf16_length, validate_message_text

from bot.i18n import MESSAGES
from bot.ingest.parser import parse_post
from bot.ingest.pipeline import to_record
from bot.render.console import keyboard_lines, to_terminal
from bot.render.html import MAX_MESSAGE, RenderContext, render, render_inline
from bot.render.keyboards import (
    MAX_CALLBACK_BYTES,
    CallbackStore,
    Expired,
    OpenPage,
    page_payload,
    parse_callback,
)
from bot.services.replies import (
    ArticleDetail,
    ArticleItem,
    ArticleList,
    CountEntry,
    CountList,
    Help,
    IngestSummary,
    InlineResult,
    LastIngest,
    Notice,
    PageQuery,
    Stats,
    Trending,
    Welcome,
)
from bot.services.text import longer_summary, query_snippet
from storage.records import Failure, TrendingTerm

SHANGHAI = ZoneInfo("Asia/Shanghai")


def context(lang: str = "zh", *, in_group: bool = False) -> RenderContext:
    return RenderContext(lang, SHANGHAI, CallbackStore(), in_group=in_group)  # type: ignore[arg-type]


def item(title: str = "标题", text: str = "摘要。", **fields: object) -> ArticleItem:
    values: dict[str, object] = {
        "key": "K1",
        "title": title,
        "published_at": datetime(2022, 4, 20, 6, 1, 57, tzinfo=UTC),
        "category": "kejiribao",
        "tags": ("科技日报新闻",),
        "source": "科技日报",
        "text": text,
        "share_url": "http://example.com/a?b=1&c=2",
    }
    values.update(fields)
    return ArticleItem(**values)  # type: ignore[arg-type]


def all_formats(items: list[ArticleItem], query: str) -> list[str]:
    """Every HTML the bot can send for these items: lists (private, group, English, search),
    the detail view and the inline message."""
    html_texts = []
    for ctx in (context(), context(in_group=True), context("en")):
        for kind in ("latest", "search", "category", "tag"):
            page = PageQuery(
                kind, offset=5, limit=len(items), query=query, tag="科技", category="c"
            )  # type: ignore[arg-type]
            listing = ArticleList(page, tuple(items), total=500, has_more=True)
            html_texts += [m.html for m in render(listing, ctx)]
        for one in items:
            html_texts += [m.html for m in render(ArticleDetail(one), ctx)]
            html_texts.append(render_inline(InlineResult(one), ctx).html)
    return html_texts


def test_every_corpus_article_renders_to_valid_telegram_html(corpus_files: list[Path]) -> None:
    items = []
    for path in corpus_files:
        record = to_record(parse_post(path.read_text("utf-8"), path.name, tz=SHANGHAI))
        query = record.title[:2] or "的"
        snippet, spans = query_snippet(record.title, record.paragraphs, query, 160)
        base = ArticleItem(
            key=record.key,
            title=record.title,
            published_at=record.published_at,
            category=record.category,
            tags=record.tags,
            source=record.source,
            text=record.summary,
            share_url=record.share_url,
        )
        detail = longer_summary(record.title, record.paragraphs, 300, record.digest)
        items += [base, replace(base, text=snippet, highlights=spans), replace(base, text=detail)]
    assert len(items) == 3 * len(corpus_files)
    checked = 0
    for start in range(0, len(items), 10):
        for message in all_formats(items[start : start + 10], "韶关 <&>"):
            shown = validate_message_text(message, "HTML")
            assert utf16_length(message) <= MAX_MESSAGE
            assert "<" not in to_terminal(message) or "<http" in to_terminal(message)
            checked += bool(shown)
    assert checked > 10 * len(corpus_files)


def test_titles_with_markup_characters_are_escaped() -> None:
    title = "A <b>bold</b> & \"quoted\" 'title' <script>"
    ctx = context()
    [listing] = render(ArticleList(PageQuery("latest"), (item(title),), 1, False), ctx)
    assert f"<b>1. {html.escape(title)}</b>" in listing.html
    assert "&lt;script&gt;" in listing.html and "&amp;" in listing.html
    assert "&quot;quoted&quot;" in listing.html
    assert title in parse_telegram_html(listing.html)
    [detail] = render(ArticleDetail(item(title)), ctx)
    assert parse_telegram_html(detail.html).startswith(title)
    assert 'href="http://example.com/a?b=1&amp;c=2"' in detail.html


def test_search_matches_are_bold_and_escaped() -> None:
    found = item(text="a<b & 韶关 and 韶关", highlights=((13, 15), (6, 8), (6, 7)))
    [message] = render(
        ArticleList(PageQuery("search", query="韶关"), (found,), None, False), context()
    )
    assert "a&lt;b &amp; <b>韶关</b> and <b>韶关</b>" in message.html


def test_date_is_in_the_configured_zone_with_category_and_tags() -> None:
    [message] = render(ArticleDetail(item(tags=("科技日报新闻", "two words"))), context())
    assert "2022-04-20 14:01 #kejiribao #科技日报新闻 #two_words" in message.html


def test_long_answers_split_between_items_with_buttons_on_the_last_part() -> None:
    items = tuple(item(f"标题{i}", "很长的摘要。" * 40, key=f"K{i}") for i in range(40))
    page = PageQuery("latest", limit=40)
    messages = render(ArticleList(page, items, 100, True), context())
    assert len(messages) > 1
    assert all(utf16_length(m.html) <= MAX_MESSAGE for m in messages)
    shown_titles = [
        line for m in messages for line in m.html.splitlines() if line.startswith("<b>")
    ]
    assert [t for t in shown_titles if ". " in t] == [f"<b>{i + 1}. 标题{i}</b>" for i in range(40)]
    assert [m.keyboard is not None for m in messages] == [False] * (len(messages) - 1) + [True]
    for message in messages:
        validate_message_text(message.html, "HTML")


def test_callback_data_fits_64_bytes_and_long_queries_go_to_the_lru() -> None:
    store = CallbackStore(capacity=2)
    short = PageQuery("search", offset=10, limit=5, query="韶关", tag="科技日报新闻")
    assert parse_callback(page_payload(short), store) == OpenPage(short)

    long_query = PageQuery("search", offset=5, limit=5, query="很长的查询:%" * 10)
    packed = store.pack(page_payload(long_query))
    assert packed.startswith("k:") and len(packed.encode()) <= MAX_CALLBACK_BYTES
    assert parse_callback(packed, store) == OpenPage(long_query)

    store.pack(page_payload(replace(long_query, offset=10)))
    store.pack(page_payload(replace(long_query, offset=15)))
    assert parse_callback(packed, store) == Expired()


def test_every_button_the_renderer_makes_fits_telegram() -> None:
    ctx = context()
    names = [CountEntry("标签" * 30, 3), CountEntry("a:b%c", 1), CountEntry("kejiribao", 1)]
    replies = [
        CountList("tags", tuple(names)),
        CountList("categories", tuple(names)),
        ArticleList(PageQuery("search", offset=5, query="查" * 60), (item(),), None, True),
        Trending((TrendingTerm("韶关", 3, example_key="NW" + "9" * 60, example_title="标题"),)),
    ]
    for reply in replies:
        for message in render(reply, ctx):
            assert message.keyboard is not None
            for button in message.keyboard.buttons:
                assert button.callback_data is not None
                assert len(button.callback_data.encode()) <= MAX_CALLBACK_BYTES
                assert parse_callback(button.callback_data, ctx.callbacks) not in (None, Expired())


def test_console_text_spells_out_links_and_numbers_buttons() -> None:
    [message] = render(ArticleList(PageQuery("latest"), (item("A & B"),), 9, True), context("en"))
    terminal = to_terminal(message.html)
    assert terminal.splitlines()[3] == "1. A & B"
    assert "Read the article <http://example.com/a?b=1&c=2>" in terminal
    assert keyboard_lines(message.keyboard) == ["[1] Next ▶"]
    assert "\033[1m" in to_terminal(message.html, color=True)


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("<div>x</div>", "Unsupported start tag"),
        ("<b>x", "Can't find end tag"),
        ("<b><i>x</b></i>", "Unmatched end tag"),
        ("a & b", "Unsupported HTML entity"),
        ("&nbsp;", "Unsupported HTML entity"),
        ("<a>x</a>", "must have attribute"),
        ('<span class="x">y</span>', "Unsupported value"),
        ("x > y", 'Unescaped ">"'),
        ("1 < 2", "Unclosed start tag"),
    ],
)
def test_the_fake_rejects_what_telegram_rejects(bad: str, reason: str) -> None:
    with pytest.raises(EntityError, match=reason):
        parse_telegram_html(bad)


def test_the_fake_counts_text_after_entities() -> None:
    assert parse_telegram_html('<a href="http://x?a=1&amp;b">&lt;&#26085;&gt;</a>') == "<日>"
    validate_message_text("&amp;" * 4096, "HTML")
    with pytest.raises(ValueError, match="too long"):
        validate_message_text("&amp;" * 4097, "HTML")


def test_every_catalog_message_and_admin_reply_is_valid_html_in_both_languages() -> None:
    hostile = '<x & "y">'
    for lang in ("zh", "en"):
        ctx = context(lang)
        for key, templates in MESSAGES.items():
            fields = {name for _, name, _, _ in Formatter().parse(templates[lang]) if name}
            [message] = render(Notice(key, dict.fromkeys(fields, hostile)), ctx)
            shown = validate_message_text(message.html, "HTML")
            assert hostile in shown or not fields
        failures = tuple(Failure(f"/src/{i}<", "bad & broken") for i in range(12))
        last = LastIngest(None, datetime(2026, 1, 1, tzinfo=UTC), IngestSummary(1, 2, 3, failures))
        replies = [
            Welcome(hostile),
            Help(("latest", "search"), ("ingest",), "bot"),
            IngestSummary(5, 0, 1, failures),
            Stats(10, 9, 3, 4, last, "sqlite", 123456789, 90061.0),
        ]
        for reply in replies:
            for message in render(reply, ctx):
                validate_message_text(message.html, "HTML")
    [stats] = render(replies[3], context("en"))
    assert "Uptime: 1d 01:01:01" in stats.html and "117.7 MB" in stats.html


def test_a_flash_shows_its_mark_and_its_title_once() -> None:
    from bot.services.articles import item_from_article
    from storage.records import ArticleView

    def view(title: str, summary: str, paragraphs: list[tuple[str, bool]]) -> ArticleView:
        return ArticleView(
            id=1, key="K1", title=title, published_at=datetime(2021, 12, 8, tzinfo=UTC),
            category="emnews", tags=("东财滚动",), source=None, summary=summary,
            summary_version=1, digest=None, share_url=None, file=None, content_hash="",
            story_id=1, paragraphs=paragraphs,
        )  # fmt: skip

    title = "北向资金净流入达30亿元"
    flash = item_from_article(view(title, "", [(f"{title}。", False)]))
    older = item_from_article(view(title, f"{title}。", []), text=f"{title}。")
    news = item_from_article(view("北向资金", "北向资金净流入超50亿元，为近一个月最高。", []))
    assert flash.flash and older.flash and flash.text == older.text == ""
    assert not news.flash and news.text
    page = ArticleList(PageQuery("latest", limit=1), (flash,), total=1, has_more=False)
    [message] = render(page, context())
    assert message.html.count(title) == 1 and "⚡快讯" in message.html
    [english] = render(page, context("en"))
    assert "⚡Flash" in english.html

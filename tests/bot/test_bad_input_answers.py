"""Issue 12, items 5, 6, 9, 11, 12 and 13: every bad input gets one clear answer (one line and
the right exit code on the command line, a plain reply in chat, 400 from the webhook)."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import REPO
from fakebotapi import html_error, utf16_length
from store_support import GROUP, PRIVATE

from bot.cli.bot import DEMO_DB_NAME, demo_database_url, webhook_app
from bot.cli.main import main
from bot.i18n import MESSAGES
from bot.ingest.pipeline import ingest
from bot.render.html import RenderContext, clip_html, render, render_inline
from bot.render.keyboards import CallbackStore
from bot.services import articles, search
from bot.services.replies import (
    ArticleItem,
    ArticleList,
    CountEntry,
    CountList,
    IngestSummary,
    InlineResult,
    LastIngest,
    Notice,
    PageQuery,
    Stats,
    Trending,
)
from bot.settings import load_settings
from storage.db import Database
from storage.records import Failure, TrendingTerm

SHANGHAI = load_settings().tz
MAX_MESSAGE = 4096


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.count("\n") <= 1 or err.startswith("usage:"), err
    return err


# 5: one line and the right exit code on the command line.
@pytest.mark.parametrize(
    ("argv", "code", "says"),
    [
        (["search", "央行", "--since", "0001-01-01"], 2, "date out of range"),
        (["search", "央行", "--until", "9999-12-31T23:59:59-12:00"], 2, "date out of range"),
        (["latest", "--offset", "99999999999999999999"], 2, "--offset: must be at most"),
        (["search", "央行", "--offset", "99999999999999999999"], 2, "--offset: must be at most"),
        (["latest", "--limit", "-1"], 2, "--limit: must be a positive"),
    ],
)
def test_bad_command_arguments_get_one_line(
    argv: list[str], code: int, says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert run_cli([*argv, "--database-url", url]) == code
    err = one_line_error(capsys)
    assert says in err


def run_cli(argv: list[str]) -> int:
    """`main`'s exit code, also when argparse exits on a usage error."""
    try:
        return main(argv)
    except SystemExit as exit_info:
        return int(exit_info.code or 0)


def test_an_unopenable_database_is_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["latest", "--database-url", "sqlite:////proc/nope/x.db"]) == 1
    err = one_line_error(capsys)
    assert err.startswith("newsbot: cannot open the SQLite file") and "/proc/nope" in err


class _FakeApplication:
    def __init__(self) -> None:
        self.update_queue: asyncio.Queue[Any] = asyncio.Queue()
        self.bot = None


async def test_the_webhook_answers_400_and_one_warning_for_a_bad_body(
    caplog: pytest.LogCaptureFixture,
) -> None:
    application = _FakeApplication()
    app = webhook_app(application, "/hook", "s3cret")
    good_header = {"X-Telegram-Bot-Api-Secret-Token": "s3cret"}
    no_date = {
        "update_id": 7,
        "message": {"message_id": 1, "chat": {"id": 1, "type": "private"}, "text": "/start"},
    }
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for body in ("[]", '"x"', "123", "null", "{}", "{", "\x00"):
            caplog.clear()
            with caplog.at_level(logging.WARNING):
                answer = await client.post("/hook", content=body, headers=good_header)
            assert answer.status_code == 400, body
            [warning] = [r for r in caplog.records if r.levelno >= logging.WARNING]
            assert warning.levelno == logging.WARNING and "\n" not in warning.getMessage()
        answer = await client.post("/hook", json=no_date, headers=good_header)
        assert answer.status_code == 400
        wrong = await client.post(
            "/hook", json=no_date, headers={"X-Telegram-Bot-Api-Secret-Token": b"s3cret\xe9"}
        )
        assert wrong.status_code == 403
    assert application.update_queue.empty()


# 6: chat arguments.
@pytest.mark.parametrize("count", ["999999", "-5", "0", "11", "+99", "123456789012345678901"])
async def test_a_bad_latest_count_is_a_count_reply_not_a_category(
    demo_store: Database,
    count: str,
) -> None:
    reply = await articles.latest_command(demo_store, [count], PRIVATE)
    assert reply == Notice("latest_count", {"max": 10})
    reply = await articles.latest_command(demo_store, [count, "chengshi"], GROUP)
    assert reply == Notice("latest_count", {"max": 5})


async def test_a_forged_page_offset_is_clamped(demo_store: Database) -> None:
    for kind, query in (("latest", None), ("search", "示例")):
        page = PageQuery(kind, offset=9_999_999, limit=999, query=query)  # type: ignore[arg-type]
        reply = await search.open_page(demo_store, page, PRIVATE)
        # Nothing that deep: the empty notice, reached by a clamped query.
        assert isinstance(reply, Notice)
    listing = await search.open_page(demo_store, PageQuery("latest", offset=2, limit=2), PRIVATE)
    assert isinstance(listing, ArticleList) and listing.page.offset == 2
    assert search.MAX_PAGE_OFFSET == 1000


async def test_control_characters_in_a_query_are_dropped_before_header_and_search(
    demo_store: Database,
) -> None:
    clean = await search.search_command(demo_store, ["无人驾驶"], PRIVATE)
    for typed in ("无人\x00驾驶", "无\u202e人驾\x07驶", "无人\u200b驾驶\x85", "无人\ud800驾驶"):
        reply = await search.search_command(demo_store, [typed], PRIVATE)
        assert isinstance(reply, ArticleList)
        assert reply.page.query == "无人驾驶"
        assert reply == clean
    inline = await search.inline_search(demo_store, "无人\x00驾驶", "")
    assert inline.query == "无人驾驶" and inline.results
    # A lone surrogate (JSON can carry one) in a category or a forged button is dropped too.
    listing = await articles.latest_command(demo_store, ["cheng\ud800shi"], PRIVATE)
    assert isinstance(listing, ArticleList) and listing.page.category == "chengshi"
    page = PageQuery("tag", tag="\udfff城市新闻\x00")
    tagged = await search.open_page(demo_store, page, PRIVATE)
    assert isinstance(tagged, ArticleList) and tagged.page.tag == "城市新闻"


# 9: no reply type, at its largest, is rejected by Telegram's HTML rules or its length.
def _context(lang: str = "zh") -> RenderContext:
    return RenderContext(lang, SHANGHAI, CallbackStore())  # type: ignore[arg-type]


def _item(number: int, size: int) -> ArticleItem:
    return ArticleItem(
        key=f"NW{number:018d}",
        title="<标题> & " * size,
        published_at=datetime(2024, 1, 1, tzinfo=UTC),
        category="cat<&>" * 3,
        tags=tuple(f"标签{i}&" for i in range(20 * size)),
        source="来源",
        text="央行 & <降准> 😀" * size,
        highlights=((0, 2), (5, 20)),
        share_url="https://example.org/a?b=1&c=<2>",
        other_sources=tuple(f"源{i}<" * size for i in range(30 * size)),
    )


def test_every_reply_type_at_its_largest_is_valid_telegram_html() -> None:
    failures = tuple(Failure(f"/src/{i}<&>" * 20, "bad & <broken> " * 40) for i in range(50))
    summary = IngestSummary(5, 0, 1, failures)
    replies: list[Any] = [
        CountList("categories", tuple(CountEntry(f"分类<{i}>&" * 5, i) for i in range(800))),
        CountList("tags", (CountEntry("很长的路径<&>" * 2000, 1),)),
        CountList("tags", tuple(CountEntry(f"#标签{i}" * 10, i) for i in range(800))),
        Trending(
            tuple(
                TrendingTerm(f"词{i}<" * 10, i, example_key="k", example_title="例<&>" * 100)
                for i in range(50)
            )
        ),
        summary,
        Stats(10, 9, 3, 4, LastIngest(None, datetime(2026, 1, 1, tzinfo=UTC), summary), "x", 1, 2),
    ]
    for size in (1, 50, 400):
        items = tuple(_item(n, size) for n in range(10))
        for kind, query in (("latest", None), ("search", "央行<&>" * 30)):
            page = PageQuery(kind, limit=10, query=query)  # type: ignore[arg-type]
            replies.append(ArticleList(page, items, total=10**9, has_more=True))
    shown = 0
    for lang in ("zh", "en"):
        for reply in replies:
            for message in render(reply, _context(lang)):
                assert html_error(message.html) is None, (type(reply).__name__, message.html)
                assert utf16_length(message.html) <= MAX_MESSAGE
                shown += 1
    assert shown > 2 * len(replies)
    for size in (1, 400):
        inline = render_inline(InlineResult(_item(1, size)), _context())
        assert html_error(inline.html) is None and utf16_length(inline.html) <= MAX_MESSAGE
    # The 800 categories are all there, split between messages.
    categories = "".join(m.html for m in render(replies[0], _context()))
    assert all(f"分类&lt;{i}&gt;" in categories for i in range(800))


def test_clip_html_never_cuts_a_tag_or_an_entity() -> None:
    markup = '<b>粗&amp;体</b> <a href="https://x.org/?a=1&amp;b=2">链接😀</a> 正文 &lt;尾&gt;'
    for limit in range(1, utf16_length(markup) + 2):
        clipped = clip_html(markup, limit)
        assert html_error(clipped) is None, clipped
        assert utf16_length(clipped) <= max(limit, 1)


# 11: the demo has its own store; its example finds a post; /help lists what it has.
def test_the_demo_runs_on_its_own_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    user_store = tmp_path / "newsbot.db"
    url = f"sqlite:///{user_store}"
    assert demo_database_url(url) == f"sqlite+aiosqlite:///{tmp_path / DEMO_DB_NAME}"
    example = MESSAGES["console_intro"]["zh"].split("/search ")[1].split("；")[0]
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"/search {example}\n/help\n/quit\n"))
    assert main(["console", "--demo", "--lang", "zh", "--database-url", url]) == 0
    out = capsys.readouterr().out
    assert "已载入 7 篇示例新闻" in out
    assert MESSAGES["empty_search"]["zh"].split("{")[0] not in out
    assert "山城试点无人驾驶公交" in out
    # the console manages its own chat's subscriptions (issue 15), so /help lists them
    assert "/latest" in out and "/subscribe" in out and "/unsubscribe" in out
    assert (tmp_path / DEMO_DB_NAME).exists()
    assert not user_store.exists()

    # The user's store, ingested meanwhile, never sees the sample posts.
    async def user_articles() -> int:
        db = Database(url)
        await db.upgrade()
        report = await ingest(db, [], settings=load_settings())
        from storage.repository import ArticleRepository

        async with db.session() as session:
            count = await ArticleRepository(session).count()
        await db.dispose()
        return count + report.added

    assert asyncio.run(user_articles()) == 0


# 12: without ../shared the run says so in one line at the end; under CI it fails.
def test_missing_shared_corpus_is_one_summary_line_and_a_failure_under_ci(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["NEWSBOT_SHARED_DIR"] = str(tmp_path / "no-shared")
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "tests/bot/summarize/test_summarize_segmenter.py",
    ]
    quiet = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert quiet.returncode == 0, quiet.stdout
    lines = [line for line in quiet.stdout.splitlines() if "README.md, section Tests" in line]
    assert len(lines) == 1
    assert str(tmp_path / "no-shared") in lines[0] and "skipped" in lines[0]
    ci = subprocess.run(
        command, cwd=REPO, env={**env, "CI": "true"}, capture_output=True, text=True, timeout=120
    )
    assert ci.returncode == 1
    assert "missing under CI" in ci.stdout


# 13: `newsbot search` says when nothing matches; the usage tells about `--`.
def test_search_without_a_match_says_so_and_usage_mentions_double_dash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["search", "没有这个词", "--database-url", url]) == 0
    assert capsys.readouterr().out == "no article matches '没有这个词'\n"
    assert main(["search", "--database-url", url, "--", "-x"]) == 0
    assert "no article matches '-x'" in capsys.readouterr().out
    assert main(["search", "--json", "没有", "--database-url", url]) == 0
    assert capsys.readouterr().out.strip() == "[]"
    with pytest.raises(SystemExit) as exit_info:
        main(["search", "-x", "--database-url", url])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "[--] QUERY" in err
    with pytest.raises(SystemExit):
        main(["search", "--help"])
    assert "newsbot search -- -5%" in capsys.readouterr().out

"""The real Application, built by the factory, talking HTTP to the fake Bot API: every command,
button and inline query, with the exact methods and payloads that reach Telegram."""

from __future__ import annotations

import asyncio
import html
import logging
from datetime import timedelta
from pathlib import Path

import pytest
from bot_harness import (
    ADMIN_ID,
    GROUP_ID,
    USER_ID,
    Conversation,
    bot_settings,
    button_data,
    buttons,
)
from conftest import REPO
from fakebotapi import BOT_USERNAME, FakeBotAPI

from bot.app import build_application
from bot.i18n import text
from storage.db import Database
from storage.repository import ArticleRepository
from storage.sources import SourceRepository

pytest_plugins = ["bot_fixtures"]

SHAOGUAN_KEY = "NW202204202349852762"
SHAOGUAN_TITLE = "广东韶关：老工业基地迈向高质量发展"
SHAOGUAN_URL = "http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW202204202349852762"
DEMO_DIR = REPO / "bot" / "demo"


async def newest_titles(conversation: Conversation, limit: int, **filters: str) -> list[str]:
    db: Database = conversation.application.bot_data.db
    async with db.session() as session:
        articles = await ArticleRepository(session).latest(limit=limit, **filters)
    return [a.title for a in articles]


def numbered_titles(message_html: str) -> list[str]:
    """The `<b>N. title</b>` lines of a rendered list, unescaped."""
    titles = []
    for line in message_html.splitlines():
        if line.startswith("<b>") and line.endswith("</b>") and ". " in line:
            number, _, title = line[3:-4].partition(". ")
            if number.isdigit():
                titles.append(html.unescape(title))
    return titles


async def test_start_welcomes_with_menu_buttons_and_registers_the_menu(
    conversation: Conversation,
) -> None:
    menus = conversation.api.commands
    assert [c["command"] for c in menus[('{"type": "default"}', "")]][:3] == [
        "start",
        "latest",
        "search",
    ]
    assert menus[('{"type": "default"}', "en")][1]["description"] == text("en", "cmd_latest")
    assert menus[('{"type": "default"}', "zh")][1]["description"] == text("zh", "cmd_latest")

    calls = await conversation.say("/start")

    [sent] = calls
    assert sent.method == "sendMessage" and sent.ok
    assert sent.params["chat_id"] == USER_ID
    assert sent.params["parse_mode"] == "HTML"
    assert sent.params["text"] == (
        html.escape(text("zh", "welcome", name="Test")) + "\n" + text("zh", "welcome_hint")
    )
    assert button_data(sent) == ["m:latest", "m:categories", "m:tags", "m:trending"]
    assert buttons(sent)[-1]["switch_inline_query_current_chat"] == ""


async def test_an_english_user_is_answered_in_english(conversation: Conversation) -> None:
    [sent] = await conversation.say("/help", lang="en-US")
    assert sent.params["text"].startswith(f"<b>{text('en', 'help_title')}</b>")
    assert "/latest — Latest news" in html.unescape(sent.params["text"])
    assert "/ingest" not in sent.params["text"]


async def test_help_shows_admin_commands_to_admins_only(conversation: Conversation) -> None:
    [for_admin] = await conversation.say("/help", chat_id=ADMIN_ID, user_id=ADMIN_ID)
    [for_user] = await conversation.say("/help")
    assert "/ingest" in for_admin.params["text"] and "/stats" in for_admin.params["text"]
    assert "/ingest" not in for_user.params["text"]
    assert f"@{BOT_USERNAME}" in for_user.params["text"]


async def test_latest_pages_forward_and_back_by_editing_the_message(
    conversation: Conversation,
) -> None:
    expected = await newest_titles(conversation, 10)

    [first] = await conversation.say("/latest")
    assert first.method == "sendMessage"
    assert numbered_titles(first.params["text"]) == expected[:5]
    assert button_data(first) == ["p:latest:o=5:n=5"]

    answer, edited = await conversation.press(first, "p:latest:o=5:n=5")
    assert answer.method == "answerCallbackQuery" and answer.ok
    assert edited.method == "editMessageText" and edited.ok
    assert edited.params["message_id"] == first.response["result"]["message_id"]
    assert numbered_titles(edited.params["text"]) == expected[5:10]
    assert button_data(edited) == ["p:latest:o=0:n=5", "p:latest:o=10:n=5"]
    assert "第 6–10 条" in edited.params["text"]

    _, back = await conversation.press(first, "p:latest:o=0:n=5")
    assert numbered_titles(back.params["text"]) == expected[:5]


async def test_latest_takes_a_count_a_category_or_a_tag(conversation: Conversation) -> None:
    [by_category] = await conversation.say("/latest 3 kejiribao")
    assert numbered_titles(by_category.params["text"]) == [SHAOGUAN_TITLE]
    assert "#kejiribao" in by_category.params["text"]

    [by_tag] = await conversation.say("/latest #东财滚动新闻 2")
    assert numbered_titles(by_tag.params["text"]) == await newest_titles(
        conversation, 2, tag="东财滚动新闻"
    )
    assert button_data(by_tag) == ["p:tag:o=2:n=2:t=东财滚动新闻"]

    [bare_tag] = await conversation.say("/latest 科技日报新闻")
    assert numbered_titles(bare_tag.params["text"]) == [SHAOGUAN_TITLE]

    [usage] = await conversation.say("/latest 3 4 5")
    assert usage.params["text"] == html.escape(text("zh", "usage_latest"))


async def test_in_a_group_addressed_commands_work_and_answers_are_short(
    conversation: Conversation,
) -> None:
    [sent] = await conversation.say(f"/latest@{BOT_USERNAME}", chat_id=GROUP_ID)
    assert sent.params["chat_id"] == GROUP_ID
    assert len(numbered_titles(sent.params["text"])) == 3
    assert "/show" not in sent.params["text"]
    assert button_data(sent) == ["p:latest:o=3:n=3"]

    assert await conversation.say("/latest@some_other_bot", chat_id=GROUP_ID) == []
    assert await conversation.say("/frobnicate", chat_id=GROUP_ID) == []
    [unknown] = await conversation.say(f"/frobnicate@{BOT_USERNAME}", chat_id=GROUP_ID)
    assert "/frobnicate" in unknown.params["text"]


async def test_search_puts_the_shaoguan_post_first_with_its_link_and_bold_matches(
    conversation: Conversation,
) -> None:
    [sent] = await conversation.say("/search 韶关")
    titles = numbered_titles(sent.params["text"])
    assert titles[0] == SHAOGUAN_TITLE
    first_item = sent.params["text"].split("\n\n")[1]
    assert f'<a href="{SHAOGUAN_URL}">' in first_item
    assert "<b>韶关</b>" in first_item

    [with_tag] = await conversation.say("/search 韶关 #科技日报新闻")
    assert numbered_titles(with_tag.params["text"]) == [SHAOGUAN_TITLE]

    [nothing] = await conversation.say("/search 韶关 #东财滚动新闻")
    assert nothing.params["text"] == html.escape(text("zh", "empty_search", query="韶关"))


async def test_search_pages_with_the_query_in_the_button(conversation: Conversation) -> None:
    [sent] = await conversation.say("/search 指数")
    assert button_data(sent) == ["p:search:o=5:n=5:q=指数"]
    _, edited = await conversation.press(sent, "p:search:o=5:n=5:q=指数")
    assert edited.method == "editMessageText" and edited.ok
    page_two = numbered_titles(edited.params["text"])
    assert page_two and not set(page_two) & set(numbered_titles(sent.params["text"]))


async def test_plain_text_in_a_private_chat_is_a_search(conversation: Conversation) -> None:
    [sent] = await conversation.say("韶关")
    assert numbered_titles(sent.params["text"])[0] == SHAOGUAN_TITLE


async def test_categories_and_tags_come_as_buttons_that_open_lists(
    conversation: Conversation,
) -> None:
    [categories] = await conversation.say("/categories")
    assert "#kejiribao — 1 篇" in categories.params["text"]
    assert "c:kejiribao" in button_data(categories)
    answer, opened = await conversation.press(categories, "c:kejiribao")
    assert answer.method == "answerCallbackQuery"
    assert opened.method == "sendMessage"
    assert numbered_titles(opened.params["text"]) == [SHAOGUAN_TITLE]

    [tags] = await conversation.say("/tags")
    assert "t:科技日报新闻" in button_data(tags)
    _, by_tag = await conversation.press(tags, "t:科技日报新闻")
    assert numbered_titles(by_tag.params["text"]) == [SHAOGUAN_TITLE]


async def test_the_bot_counts_tags_at_start_so_no_tags_reply_waits_for_a_count(
    api: FakeBotAPI, store_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    counted: list[int | None] = []
    original = ArticleRepository.tag_counts

    async def counting(self: ArticleRepository, limit: int | None = None) -> list[tuple[str, int]]:
        counted.append(limit)
        return await original(self, limit)

    monkeypatch.setattr(ArticleRepository, "tag_counts", counting)
    application = build_application(bot_settings(api, f"sqlite+aiosqlite:///{store_copy}"))
    async with application:
        assert application.post_init is not None and application.post_shutdown is not None
        await application.post_init(application)
        await application.start()
        for _ in range(100):
            if counted:
                break
            await asyncio.sleep(0.05)
        assert counted, "no count at start"
        [tags] = await Conversation(api, application).say("/tags")
        assert "t:科技日报新闻" in button_data(tags)
        assert len(counted) == 1
        await application.stop()
        await application.post_shutdown(application)


async def test_category_tag_and_show_commands(conversation: Conversation) -> None:
    [category] = await conversation.say("/category kejiribao")
    assert numbered_titles(category.params["text"]) == [SHAOGUAN_TITLE]
    [tag] = await conversation.say("/tag #科技日报新闻")
    assert numbered_titles(tag.params["text"]) == [SHAOGUAN_TITLE]

    assert f"详情：/show_{SHAOGUAN_KEY}" in category.params["text"]
    [tapped] = await conversation.say(f"/show_{SHAOGUAN_KEY}")
    [in_group] = await conversation.say(f"/show_{SHAOGUAN_KEY}@{BOT_USERNAME}", chat_id=GROUP_ID)
    assert await conversation.say(f"/show_{SHAOGUAN_KEY}@other_bot", chat_id=GROUP_ID) == []
    [show] = await conversation.say(f"/show {SHAOGUAN_KEY}")
    assert tapped.params["text"] == show.params["text"]
    assert in_group.params["text"] == show.params["text"]
    body = show.params["text"]
    assert body.startswith(f"<b>{SHAOGUAN_TITLE}</b>\n2022-04-20 14:01 #kejiribao #科技日报新闻")
    assert "来源：科技日报" in body
    assert f'<a href="{SHAOGUAN_URL}">' in body
    assert buttons(show) == [{"text": text("zh", "button_open"), "url": SHAOGUAN_URL}]
    assert "韶关" in body.split("\n\n")[1]


async def test_trending_answers_with_terms_or_says_there_are_none(
    conversation: Conversation,
) -> None:
    [sent] = await conversation.say("/trending")
    assert sent.ok
    assert sent.params["text"].startswith(f"<b>{text('zh', 'title_trending')}</b>") or sent.params[
        "text"
    ] == html.escape(text("zh", "empty_trending"))
    for data in button_data(sent):
        assert data.startswith("a:")
        _, shown = await conversation.press(sent, data)
        assert shown.method == "sendMessage" and shown.ok
        assert "<a href=" in shown.params["text"] or "/show" not in shown.params["text"]


async def test_inline_mode_answers_articles_paginated_with_next_offset(
    conversation: Conversation,
) -> None:
    [answer] = await conversation.inline("韶关")
    assert answer.method == "answerInlineQuery" and answer.ok
    first = answer.params["results"][0]
    assert first["type"] == "article"
    assert first["id"] == SHAOGUAN_KEY
    assert first["title"] == SHAOGUAN_TITLE
    assert first["url"] == SHAOGUAN_URL
    assert first["input_message_content"]["parse_mode"] == "HTML"
    assert f'<a href="{SHAOGUAN_URL}">' in first["input_message_content"]["message_text"]

    assert "button" not in answer.params
    [nothing] = await conversation.inline("xyzzy不存在")
    assert nothing.params["results"] == []
    assert nothing.params["button"] == {
        "text": text("zh", "inline_none", query="xyzzy不存在"),
        "start_parameter": "inline",
    }

    [newest] = await conversation.inline("")
    assert newest.params["button"]["text"] == text("zh", "inline_empty")
    assert len(newest.params["results"]) == 10
    assert newest.params["next_offset"] == "10"
    [second] = await conversation.inline("", offset="10")
    assert second.params["next_offset"] == "20"
    assert {r["id"] for r in newest.params["results"]}.isdisjoint(
        r["id"] for r in second.params["results"]
    )


async def test_admin_commands_are_refused_to_others_and_logged(
    conversation: Conversation, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    for command in ("/ingest", "/sources", "/stats"):
        [sent] = await conversation.say(command)
        assert sent.params["text"] == html.escape(text("zh", "admin_only"))
    refusals = [r for r in caplog.records if "not an admin" in r.getMessage()]
    assert [r.levelno for r in refusals] == [logging.WARNING] * 3
    assert {str(USER_ID) in r.getMessage() for r in refusals} == {True}


async def test_admin_sees_stats_and_sources(conversation: Conversation) -> None:
    [stats] = await conversation.say("/stats", chat_id=ADMIN_ID, user_id=ADMIN_ID)
    body = html.unescape(stats.params["text"])
    db: Database = conversation.application.bot_data.db
    async with db.session() as session:
        store = await ArticleRepository(session).stats()
    assert f"文章：{store.articles}" in body
    assert f"新闻事件：{store.stories}" in body
    assert f"分类：{store.categories}" in body
    assert "上次抓取：" in body and f"新增 {store.last_ingest.added}" in body  # type: ignore[union-attr]
    assert "数据库：sqlite，" in body and "运行时间：" in body

    [sources] = await conversation.say("/sources", chat_id=ADMIN_ID, user_id=ADMIN_ID)
    assert sources.params["text"] == html.escape(text("zh", "sources_none"))


async def test_admin_ingest_runs_in_the_background_and_reports_counts(
    conversation: Conversation,
) -> None:
    [started] = await conversation.say(f"/ingest {DEMO_DIR}", chat_id=ADMIN_ID, user_id=ADMIN_ID)
    assert started.params["text"].startswith("开始抓取")
    done_text = html.escape(text("zh", "ingest_done", added=7, updated=0, unchanged=0, failed=0))
    await asyncio.to_thread(
        conversation.api.wait_for,
        lambda call: call.method == "sendMessage" and call.params["text"] == done_text,
        timeout=60,  # the first ingest starts the bot's worker processes
    )
    [again] = await conversation.say("/latest 1 keji", chat_id=ADMIN_ID, user_id=ADMIN_ID)
    assert numbered_titles(again.params["text"])[0].startswith("示例：")


async def test_an_unexpected_error_is_logged_and_the_user_told_politely(
    conversation: Conversation, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: object) -> None:
        raise RuntimeError("the store fell over")

    monkeypatch.setattr("bot.services.articles.list_page", broken)
    [sent] = await conversation.say("/latest")
    assert sent.params["text"] == html.escape(text("zh", "error_generic"))
    [logged] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "error while handling update" in logged.getMessage()
    assert logged.exc_info is not None and "the store fell over" in str(logged.exc_info[1])


async def test_scheduled_ingest_reads_the_configured_sources(
    api: FakeBotAPI, store_copy: Path
) -> None:
    settings = bot_settings(
        api, f"sqlite+aiosqlite:///{store_copy}", sources=[str(DEMO_DIR)], ingest={"interval": "2h"}
    )
    application = build_application(settings)
    async with application:
        assert application.job_queue is not None
        jobs = {job.name: job for job in application.job_queue.jobs()}
        assert {"warm-up", "scheduled-ingest"} <= set(jobs)
        job = jobs["scheduled-ingest"]
        assert job.trigger.interval.total_seconds() == 60  # type: ignore[attr-defined]
        await job.run(application)
        db: Database = application.bot_data.db
        async with db.session() as session:
            assert await ArticleRepository(session).count(category="keji") == 3
            [row] = await SourceRepository(session).list_all(scheduled_only=True)
        assert row.location == str(DEMO_DIR) and row.last_status == "ok"
        assert row.last_run_at is not None and row.next_run_at is not None
        assert row.next_run_at - row.last_run_at == timedelta(hours=2)  # the source's interval
        await job.run(application)  # not due yet: nothing read
        async with db.session() as session:
            again = await SourceRepository(session).by_location(str(DEMO_DIR))
        assert again is not None and again.last_run_at == row.last_run_at
        await db.dispose()

"""Whatever users type or press, the bot answers, raises nothing, and logs nothing at ERROR."""

from __future__ import annotations

import html
import logging
from collections.abc import Iterator

import pytest
from bot_harness import (
    GROUP_ID,
    Conversation,
    button_data,
)
from sqlalchemy import delete

from bot.i18n import text
from storage.db import Database
from storage.models import Article

pytest_plugins = ["bot_fixtures"]


@pytest.fixture(autouse=True)
def no_errors_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.INFO)
    yield
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


def notice(key: str, /, **values: object) -> str:
    return html.escape(text("zh", key, **values))


@pytest.mark.parametrize(
    "query",
    [
        '"韶关',
        "韶关*",
        "-韶关",
        "(韶关 OR 深圳)",
        "NEAR(韶关 深圳)",
        "韶关 AND NOT",
        "title:韶关",
        "韶关\\",
        "^韶关$ & | ! <b>",
        "'; DROP TABLE articles; --",
    ],
)
async def test_search_syntax_characters_are_just_text(
    conversation: Conversation, query: str
) -> None:
    [sent] = await conversation.say(f"/search {query}")
    assert sent.ok
    assert sent.method == "sendMessage"


async def test_a_five_thousand_character_query_is_refused_politely(
    conversation: Conversation,
) -> None:
    [sent] = await conversation.say("/search " + "韶关" * 2500)
    assert sent.params["text"] == notice("query_too_long", max=200)
    [inline] = await conversation.inline("韶" * 5000)
    assert inline.ok and inline.params["results"] == []


async def test_emoji_queries_get_an_answer(conversation: Conversation) -> None:
    [sent] = await conversation.say("/search 📈🚀 股票")
    assert sent.ok
    [nothing] = await conversation.say("/search 🦄")
    assert nothing.params["text"] == notice("empty_search", query="🦄")


@pytest.mark.parametrize(
    ("command", "usage"),
    [
        ("/search", "usage_search"),
        ("/search #科技日报新闻", "usage_search"),
        ("/category", "usage_category"),
        ("/tag", "usage_tag"),
        ("/tag #", "usage_tag"),
        ("/show", "usage_show"),
        ("/latest abc def", "usage_latest"),
    ],
)
async def test_empty_arguments_get_usage(
    conversation: Conversation, command: str, usage: str
) -> None:
    [sent] = await conversation.say(command)
    assert sent.params["text"] == notice(usage)


async def test_unknown_names_get_a_hint(conversation: Conversation) -> None:
    [category] = await conversation.say("/category no-such-thing")
    assert category.params["text"] == notice("empty_category", category="no-such-thing")
    [show] = await conversation.say("/show 123")
    assert show.params["text"] == notice("not_found", key="123")
    [unknown] = await conversation.say("/frobnicate now")
    assert unknown.params["text"] == notice("unknown_command", command="frobnicate")


@pytest.mark.parametrize(
    "data",
    ["garbage", "p:latest", "p:nope:o=0:n=5", "p:latest:o=-1:n=5", "k:000000000000", "m:x"],
)
async def test_unknown_or_expired_callback_data_is_answered(
    conversation: Conversation, data: str
) -> None:
    [start] = await conversation.say("/start")
    calls = await conversation.press(start, data)
    assert [c.method for c in calls] == ["answerCallbackQuery"]
    assert calls[0].params["text"] == text("zh", "button_expired")


async def test_a_forged_page_size_is_clamped(conversation: Conversation) -> None:
    [sent] = await conversation.say("/latest", chat_id=GROUP_ID)
    _, edited = await conversation.press(sent, "p:latest:o=3:n=999")
    assert edited.ok and edited.params["text"].count("\n\n") == 5


async def test_a_deleted_article_behind_an_old_button(conversation: Conversation) -> None:
    [sent] = await conversation.say("/category kejiribao")
    [trending] = await conversation.say("/trending")
    db: Database = conversation.application.bot_data.db
    async with db.session() as session, session.begin():
        await session.execute(delete(Article))

    _, page = await conversation.press(sent, "p:category:o=0:n=5:c=kejiribao")
    assert page.params["text"] == notice("empty_category", category="kejiribao")
    calls = await conversation.press(trending, "a:NW202204202349852762")
    assert calls[-1].params["text"] == notice("not_found", key="NW202204202349852762")
    for data in button_data(trending):
        assert (await conversation.press(trending, data))[-1].ok


async def test_pressing_next_twice_on_an_unchanged_page_is_harmless(
    conversation: Conversation,
) -> None:
    [sent] = await conversation.say("/latest")
    await conversation.press(sent, "p:latest:o=5:n=5")
    calls = await conversation.press(sent, "p:latest:o=5:n=5")
    assert calls[-1].method == "editMessageText"
    assert calls[-1].status == 400 and "not modified" in calls[-1].response["description"]

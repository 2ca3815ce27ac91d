"""`newsbot run` as a subprocess against the fake Bot API, over HTTP, on a store ingested from
the corpus: a user in a private chat and in a group talks to it (the transcript goes to the
log), then the bot stops cleanly on SIGTERM with nothing logged at ERROR.
Also the webhook mode, `run` without a token, and `newsbot console --demo`."""

from __future__ import annotations

import html
import logging
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from bot_harness import GROUP_ID, USER_ID, bot_env, free_port, newsbot, start_bot
from fakebotapi import BOT_USERNAME, Call, FakeBotAPI

pytest_plugins = ["bot_fixtures"]

log = logging.getLogger("e2e")

SHAOGUAN_TITLE = "广东韶关：老工业基地迈向高质量发展"
SHAOGUAN_URL = "http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW202204202349852762"


@pytest.fixture
def running_bot(
    api: FakeBotAPI, store_copy: Path, tmp_path: Path
) -> Iterator[subprocess.Popen[str]]:
    started = time.monotonic()
    process = start_bot(
        "run",
        env=bot_env(api, store_copy),
        cwd=tmp_path,
    )
    try:
        # generous: on a loaded 2-core machine start-up (jieba, migrations) took over 30 s
        first_poll = api.wait_for_poll(timeout=90)
        log.info("start-up to first poll: %.2f s", first_poll - started)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()


class Transcript:
    """Pushes updates into the fake and waits for the bot's answers, logging both sides."""

    def __init__(self, api: FakeBotAPI) -> None:
        self.api = api
        self.lines: list[str] = []

    def _wait(self, chat_id: int, method: str, before: int) -> Call:
        def answered(call: Call) -> bool:
            return (
                call.method == method
                and int(call.params.get("chat_id", 0)) == chat_id
                and self.api.calls.index(call) >= before
            )

        [call] = self.api.wait_for(answered, timeout=20)[-1:]
        assert call.ok, call.response
        shown = call.response["result"]["text"]
        keys = [
            b.get("text")
            for row in (call.params.get("reply_markup") or {}).get("inline_keyboard", [])
            for b in row
        ]
        self.lines.append(f"  bot ({method}): " + shown.replace("\n", "\n      "))
        if keys:
            self.lines.append(f"      buttons: {keys}")
        return call

    def say(self, chat_id: int, text: str, user_id: int = USER_ID) -> Call:
        self.lines.append(f"user {user_id} in chat {chat_id}: {text}")
        before = len(self.api.calls)
        self.api.push_update(self.api.message_update(chat_id, self.api.user(user_id), text))
        return self._wait(chat_id, "sendMessage", before)

    def press(self, chat_id: int, message: Call, label: str, user_id: int = USER_ID) -> Call:
        data = next(
            b["callback_data"]
            for row in message.params["reply_markup"]["inline_keyboard"]
            for b in row
            if b["text"] == label
        )
        self.lines.append(f"user {user_id} in chat {chat_id} presses [{label}] ({data})")
        before = len(self.api.calls)
        user = self.api.user(user_id)
        self.api.push_update(self.api.callback_update(user, message.response["result"], data))
        return self._wait(chat_id, "editMessageText", before)


def titles(call: Call) -> list[str]:
    shown: str = call.response["result"]["text"]
    return [
        line.partition(". ")[2]
        for line in shown.splitlines()
        if line[:1].isdigit() and ". " in line[:5]
    ]


def test_a_private_chat_and_a_group_talk_to_the_running_bot(
    api: FakeBotAPI, running_bot: subprocess.Popen[str]
) -> None:
    transcript = Transcript(api)
    for chat_id, address in ((USER_ID, ""), (GROUP_ID, f"@{BOT_USERNAME}")):
        in_group = chat_id < 0
        start = transcript.say(chat_id, f"/start{address}")
        assert "新闻机器人" in start.response["result"]["text"]

        latest = transcript.say(chat_id, f"/latest{address}")
        first_page = titles(latest)
        assert len(first_page) == (3 if in_group else 5)

        found = transcript.say(chat_id, f"/search{address} 韶关")
        assert titles(found)[0] == SHAOGUAN_TITLE
        first_item = found.params["text"].split("\n\n")[1]
        assert f'<a href="{html.escape(SHAOGUAN_URL)}">' in first_item

        turned = transcript.press(chat_id, latest, "下一页 ▶")
        assert turned.params["message_id"] == latest.response["result"]["message_id"]
        second_page = titles(turned)
        assert len(second_page) == len(first_page)
        assert not set(first_page) & set(second_page)
        assert "◀ 上一页" in str(turned.params["reply_markup"])

    log.info("end-to-end transcript:\n%s", "\n".join(transcript.lines))
    print("\n".join(transcript.lines))
    assert all(call.ok for call in api.calls if call.method != "getUpdates")

    running_bot.send_signal(signal.SIGTERM)
    _, stderr = running_bot.communicate(timeout=45)
    assert running_bot.returncode == 0
    assert "ERROR" not in stderr and "Traceback" not in stderr, stderr


def test_webhook_mode_checks_the_secret_and_serves_healthz(
    api: FakeBotAPI, store_copy: Path, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    process = start_bot(
        "run",
        "--webhook",
        "--listen",
        "127.0.0.1",
        "--port",
        str(port),
        "--url",
        url,
        "--secret-token",
        "s3cret-Token_1",
        env=bot_env(api, store_copy),
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.1)
        assert health.status_code == 200 and health.text == "ok"
        [webhook] = api.calls_to("setWebhook")
        assert webhook.params["url"] == url
        assert webhook.params["secret_token"] == "s3cret-Token_1"

        update: dict[str, Any] = api.message_update(USER_ID, api.user(USER_ID), "/start")
        refused = httpx.post(url, json=update, timeout=5)
        wrong = httpx.post(
            url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "nope"}, timeout=5
        )
        assert (refused.status_code, wrong.status_code) == (403, 403)
        assert api.sent_to(USER_ID) == []

        accepted = httpx.post(
            url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-Token_1"}
        )
        assert accepted.status_code == 200
        [reply] = api.wait_for(lambda c: c.method == "sendMessage", timeout=20)
        assert "新闻机器人" in reply.response["result"]["text"]
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=15)


def test_run_without_a_token_points_at_the_console(tmp_path: Path) -> None:
    result = subprocess.run(
        newsbot("run"),
        env=bot_env(None, tmp_path / "x.db"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "NEWSBOT_TELEGRAM_TOKEN" in result.stderr and "newsbot console" in result.stderr


def test_console_demo_chats_in_the_terminal(tmp_path: Path) -> None:
    typed = "/latest\n1\n/search 5G\n/show_NW202611211030000002\n/nope\n/quit\n"
    result = subprocess.run(
        newsbot("console", "--demo"),
        input=typed,
        env=bot_env(None, tmp_path / "demo.db"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    log.info("console transcript:\n%s", out)
    assert "已载入 7 篇示例新闻" in out
    assert "第 1–5 条，共 7 条" in out and "[1] 下一页 ▶" in out
    assert "第 6–7 条，共 7 条" in out
    assert "5G智慧农场" in out
    assert "“东数西算” & 绿电 <新模式>" in out
    assert "阅读原文 <http://news.example.org/share/NW202611211030000002>" in out
    assert "我不认识 /nope 这个命令" in out
    assert "<b>" not in out and "&amp;" not in out

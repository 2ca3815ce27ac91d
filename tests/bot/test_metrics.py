"""Metrics and JSON logs of the running bot: `newsbot run --webhook` as a subprocess against the
fake Bot API answers `/metrics` with counters that move after a `/search` and an `/ingest`, and
logs one JSON object per line; `--metrics-port` serves them in long-polling mode."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from bot_harness import ADMIN_ID, USER_ID, bot_env, free_port, start_bot
from fakebotapi import Call, FakeBotAPI
from prometheus_client.parser import text_string_to_metric_families

from bot import metrics, telegram_metrics
from bot.push.delivery import PushReport

pytest_plugins = ["bot_fixtures"]

SECRET = "metrics-Secret_1"
POST = """---
layout: post
title: "{title}"
date: 2026-11-0{day} 08:00:00 +0800
categories: ceshi
tags: 测试
---
<p>{body}</p>
<p>这是一条为指标测试编写的新闻，第二段说明情况，第三句补充细节。</p>

<http://news.example.org/share/NW20990101080000000{day}>
"""

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(port: int) -> Samples:
    response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def wait_until(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def write_posts(folder: Path) -> Path:
    folder.mkdir()
    for day, title, body in (
        (1, "指标测试：新城开通环线地铁", "新城环线地铁今天开通，全长三十公里。"),
        (2, "指标测试：港口吞吐量创新高", "港口前十一个月吞吐量同比增长一成。"),
    ):
        (folder / f"2026-11-0{day}-metrics.md").write_text(
            POST.format(title=title, body=body, day=day), encoding="utf-8"
        )
    return folder


def test_webhook_metrics_move_and_logs_are_json_lines(
    api: FakeBotAPI, store_copy: Path, tmp_path: Path
) -> None:
    with sqlite3.connect(store_copy) as conn:
        (stored,) = conn.execute("SELECT count(*) FROM articles").fetchone()
    posts = write_posts(tmp_path / "posts")
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram"
    process = start_bot(
        "run",
        "--webhook",
        "--listen=127.0.0.1",
        f"--port={port}",
        f"--url={url}",
        f"--secret-token={SECRET}",
        env=bot_env(
            api, store_copy, NEWSBOT_LOG_FORMAT="json", NEWSBOT_LOCAL_SOURCE_ROOTS=str(tmp_path)
        ),
        cwd=tmp_path,
    )
    try:

        def up() -> bool:
            assert process.poll() is None, process.communicate()
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(up, timeout=30)
        before = scrape(port)
        assert value(before, "newsbot_updates_total", command="search") == 0

        def say(user_id: int, text: str, replies: int) -> list[Call]:
            count = len(api.sent_to(user_id))
            update = api.message_update(user_id, api.user(user_id), text)
            answer = httpx.post(
                url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}, timeout=5
            )
            assert answer.status_code == 200
            return api.wait_for(
                lambda c: c.method == "sendMessage" and int(c.params["chat_id"]) == user_id,
                count=count + replies,
                timeout=30,
            )

        say(USER_ID, "/search 韶关", 1)
        say(USER_ID, "/nosuchcommand", 1)
        done = say(ADMIN_ID, f"/ingest {posts}", 2)
        assert "2" in done[-1].params["text"]  # the summary: 2 added

        def ingested() -> bool:
            now = scrape(port)
            return value(now, "newsbot_store_articles") == stored + 2

        wait_until(ingested)
        after = scrape(port)
        proxied = httpx.get(
            f"http://127.0.0.1:{port}/metrics", headers={"X-Forwarded-For": "203.0.113.7"}
        )
        assert proxied.status_code == 404
    finally:
        # uvicorn re-raises the signal it stopped on, so the exit status says little here.
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=15)

    assert value(after, "newsbot_updates_total", command="search") == 1
    assert value(after, "newsbot_update_seconds_count", command="search") == 1
    assert value(after, "newsbot_update_seconds_sum", command="search") > 0
    assert value(after, "newsbot_updates_total", command="ingest") == 1
    assert value(after, "newsbot_updates_total", command="nosuchcommand") == 0
    assert value(after, "newsbot_updates_total", command=metrics.OTHER_COMMAND) == 1
    assert value(after, "newsbot_ingest_runs_total") == 1
    source = str(posts.resolve())
    assert value(after, "newsbot_ingest_posts_total", source=source, outcome="added") == 2
    assert value(after, "newsbot_ingest_posts_total", source=source, outcome="failed") == 0
    assert value(after, "newsbot_store_articles") == stored + 2
    assert value(after, "newsbot_push_backlog") == 0
    assert ("newsbot_push_lease_held", ()) in after

    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines, "the bot logged nothing"
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    assert any(
        r["logger"] == "bot.cli.bot" and "serving the webhook" in r["message"] for r in records
    )
    assert not any(r["level"] in {"ERROR", "CRITICAL"} for r in records), stderr


def test_polling_mode_serves_metrics_on_its_own_port(
    api: FakeBotAPI, store_copy: Path, tmp_path: Path
) -> None:
    port = free_port()
    process = start_bot(
        "run",
        "--metrics-port",
        str(port),
        "--metrics-listen",
        "127.0.0.1",
        env=bot_env(api, store_copy),
        cwd=tmp_path,
    )
    try:
        api.wait_for_poll(timeout=90)
        api.push_update(api.message_update(USER_ID, api.user(USER_ID), "/latest"))
        api.wait_for(lambda c: c.method == "sendMessage", timeout=20)
        wait_until(lambda: value(scrape(port), "newsbot_updates_total", command="latest") == 1)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=15)
    assert process.returncode == 0, stderr


def test_push_rounds_are_counted() -> None:
    def sample(name: str, **labels: str) -> float:
        return metrics.REGISTRY.get_sample_value(name, labels) or 0.0

    sent = sample("newsbot_push_deliveries_total", outcome="sent")
    waits = sample("newsbot_push_flood_waits_total")
    metrics.observe_push(PushReport(items_sent=3, messages_sent=2, flood_waits=1))
    assert sample("newsbot_push_deliveries_total", outcome="sent") == sent + 3
    assert sample("newsbot_push_flood_waits_total") == waits + 1
    assert sample("newsbot_push_lease_held") == 1
    metrics.observe_push(PushReport(had_lease=False, items_sent=5))
    assert sample("newsbot_push_lease_held") == 0
    assert sample("newsbot_push_deliveries_total", outcome="sent") == sent + 3


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("/search 韶关", "search"),
        ("/Latest@newsbot_test_bot 3", "latest"),
        ("/x" * 40, metrics.OTHER_COMMAND),
        ("/", metrics.OTHER_COMMAND),
        ("韶关", "text"),
    ],
)
def test_command_labels_stay_a_known_set(text: str, label: str) -> None:
    from telegram import Update

    api = FakeBotAPI()
    update = Update.de_json(api.message_update(USER_ID, api.user(USER_ID), text), None)
    assert telegram_metrics.command_of(update, {"search", "latest"}) == label

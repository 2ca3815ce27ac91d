"""`bench/load_bench.py` at a small size: every user gets every reply while the bot ingests,
counts trends and pushes, and from the raw bot, its baseline (timings are the benchmark's
business, not a test's)."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest
from conftest import REPO

from bot.ingest.pipeline import ingest
from bot.settings import load_settings
from storage.db import Database

sys.path.insert(0, str(REPO / "bench"))

from load_bench import main


@pytest.fixture
async def corpus_copy(corpus_dir: Path, tmp_path: Path) -> Path:
    store = tmp_path / "store.db"
    db = Database(f"sqlite+aiosqlite:///{store}")
    await db.upgrade()
    await ingest(db, [str(corpus_dir)], settings=load_settings())
    await db.dispose()
    return store


def article_count(store: Path) -> int:
    with sqlite3.connect(store) as conn:
        return int(conn.execute("SELECT count(*) FROM articles").fetchone()[0])


def test_no_reply_goes_missing_in_any_phase(corpus_copy: Path, corpus_dir: Path) -> None:
    stored = article_count(corpus_copy)
    report = main(
        [
            "--database-url",
            f"sqlite:///{corpus_copy}",
            "--users",
            "2",
            "--new-posts",
            "20",
            "--posts-from",
            str(corpus_dir),
            "--push-chats",
            "10",
            "--phase-seconds",
            "1",
            "--warm-up",
            "2",
            "--work-timeout",
            "90",
            "--raw-samples",
            "20",
        ]
    )
    phases = report["phases"]
    assert set(phases) == {"steady", "ingest", "trending", "push"}
    assert report["missing_replies"] == 0
    assert all(phase["replies"] > 0 for phase in phases.values())
    assert phases["ingest"]["ingest_done"] and phases["trending"]["trending_replies"] > 0
    ingesting = phases["ingest"]
    split = [ingesting["while_working"]["replies"], ingesting["after_work"]["replies"]]
    assert split[0] > 0 and sum(split) == ingesting["replies"], split
    assert not any(key.startswith("_") for key in ingesting)
    push = phases["push"]
    assert push["push_chats_reached"] == 10 and push["push_duplicates"] == 0, push
    assert push["push_messages"] >= 10
    raw_bot = report["raw_bot"]
    assert raw_bot["replies"] > 0 and raw_bot["missing"] == 0, raw_bot
    raw = report["raw_sql"]
    assert raw["replies"] == 20 and raw["p99_ms"] > 0
    recorded = raw["statements_per_command"]
    # counts are remembered between ingests: a warm `/tags` asks the store nothing
    assert recorded["/tags"] == 0
    assert all(n > 0 for command, n in recorded.items() if command != "/tags"), recorded
    # the phases ran on a copy: the store named keeps the articles it had
    assert article_count(corpus_copy) == stored

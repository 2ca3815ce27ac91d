"""The push job as separate processes: killed with SIGKILL mid fan-out, and two at once.

Each `newsbot push` runs as a subprocess against the flood-limiting fake Bot API in this
process, on a file-backed SQLite store or a PostgreSQL database of its own.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import IN_CI, PG_URL
from fakebotapi import TOKEN, FakeBotAPI
from push_support import arrivals, batch, repeats_per_run, store_articles, subscribe

from storage.db import Database
from storage.push_repository import SubscriptionSpec

pytestmark = pytest.mark.slow

CHATS = 200
ARTICLES = 5
KILLS = 5
LAST_WORDS = 0.5
"""Seconds after a kill in which the fake may still handle the killed run's last request; a
restarted push needs longer than that just to start."""


@dataclass
class Store:
    db: Database
    url: str


async def _admin(sql: str) -> None:
    import asyncpg  # type: ignore[import-untyped]

    conn = await asyncpg.connect(PG_URL.replace("+asyncpg", ""), timeout=3)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """A migrated store that other processes can open by URL alone."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'push.db'}"
        name = None
    else:
        name = f"push_{uuid.uuid4().hex[:10]}"
        try:
            await _admin(f'CREATE DATABASE "{name}"')
        except OSError:
            if IN_CI:
                pytest.fail(f"PostgreSQL at {PG_URL} is not reachable under CI")
            pytest.skip(f"PostgreSQL at {PG_URL} is not reachable")
        url = PG_URL.rsplit("/", 1)[0] + f"/{name}"
    db = Database(url)
    await db.upgrade()
    try:
        yield Store(db, url)
    finally:
        await db.dispose()
        if name:
            await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def fake() -> Iterator[FakeBotAPI]:
    with FakeBotAPI(token_required=TOKEN, flood_limits=True, global_per_second=1_000) as server:
        yield server


def start_push(store: Store, fake: FakeBotAPI, cwd: Path, *extra: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "NEWSBOT_DATABASE_URL": store.url,
        "NEWSBOT_TELEGRAM_TOKEN": TOKEN,
        "NEWSBOT_TELEGRAM_BASE_URL": fake.base_url,
        "NEWSBOT_TIMEZONE": "Asia/Shanghai",
    }
    command = [sys.executable, "-m", "bot.cli.main", "push", "--json", "--lease-ttl", "2"]
    command += ["--rate", "900", "--private-interval", "0", *extra]
    return subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


async def until_sent(
    fake: FakeBotAPI, count: int, within: float, process: subprocess.Popen[str] | None = None
) -> None:
    """Wait until the fake has accepted `count` messages (or the process has ended)."""
    deadline = time.monotonic() + within
    while len(fake.sent) < count and (process is None or process.poll() is None):
        if time.monotonic() > deadline:
            raise AssertionError(f"only {len(fake.sent)} of {count} messages arrived")
        await asyncio.sleep(0.005)


def expected_pairs(first_chat: int, prefix: str) -> set[tuple[int, int | None, str]]:
    return {
        (first_chat + chat, None, f"{prefix}-{n}") for chat in range(CHATS) for n in range(ARTICLES)
    }


async def test_killed_five_times_mid_fan_out_nothing_is_lost(
    store: Store, fake: FakeBotAPI, tmp_path: Path
) -> None:
    await subscribe(
        store.db,
        [
            SubscriptionSpec(chat_id=20_000 + n, chat_type="private", max_items=ARTICLES)
            for n in range(CHATS)
        ],
    )
    await store_articles(store.db, batch("crash", ARTICLES))
    chance = random.Random(6)

    run_ends = []
    for _ in range(KILLS):
        before = len(fake.sent)
        process = start_push(store, fake, tmp_path, "--wait-lease", "30")
        kill_after = chance.randint(1, 150)
        await until_sent(fake, before + kill_after, 60, process)
        assert process.poll() is None, "the push finished before it could be killed"
        process.send_signal(signal.SIGKILL)
        process.wait()
        run_ends.append(time.monotonic() + LAST_WORDS)

    finisher = start_push(store, fake, tmp_path, "--wait-lease", "30")
    out, err = finisher.communicate(timeout=120)
    assert finisher.returncode == 0, err
    delivered = arrivals(fake.sent)
    assert set(delivered) == expected_pairs(20_000, "crash")
    *killed_runs, finishing_run = repeats_per_run(fake.sent, run_ends)
    assert all(repeats <= 1 for repeats in killed_runs)
    assert finishing_run == 0

    sent_so_far = len(fake.sent)
    clean = start_push(store, fake, tmp_path, "--wait-lease", "30")
    out, err = clean.communicate(timeout=60)
    assert clean.returncode == 0, err
    assert json.loads(out)["items_sent"] == 0
    assert len(fake.sent) == sent_so_far
    assert fake.too_many_requests == 0


async def test_two_processes_at_once_never_send_an_article_twice_to_a_chat(
    store: Store, fake: FakeBotAPI, tmp_path: Path
) -> None:
    await subscribe(
        store.db,
        [
            SubscriptionSpec(chat_id=30_000 + n, chat_type="private", max_items=ARTICLES)
            for n in range(CHATS)
        ],
    )
    replicas = [start_push(store, fake, tmp_path, "--loop", "--interval", "0.05") for _ in range(2)]
    try:
        for round_number in range(3):
            await store_articles(store.db, batch(f"twin{round_number}", ARTICLES))
            await until_sent(fake, (round_number + 1) * CHATS * ARTICLES, 120)
        expected = set().union(*(expected_pairs(30_000, f"twin{r}") for r in range(3)))
        await asyncio.sleep(1.0)
        assert all(replica.poll() is None for replica in replicas)
    finally:
        for replica in replicas:
            replica.send_signal(signal.SIGINT)
        outputs = [replica.communicate(timeout=30) for replica in replicas]

    delivered = arrivals(fake.sent)
    assert set(delivered) == expected
    assert max(delivered.values()) == 1
    reports = [json.loads(out) for out, _ in outputs]
    assert sum(report["items_sent"] for report in reports) == len(expected)

"""Push fan-out benchmark: throughput against the fake's enforced flood limit, losses,
duplicates, CPU per delivered message, and SIGKILL-restart rounds. Prints JSON.

    .venv/bin/python bench/push_bench.py [--backend sqlite|postgresql|both] [--chats 300]
        [--articles 2] [--kills 10]

The fake Bot API runs in this process; every `newsbot push` runs as a subprocess and reports
its own CPU time for the push rounds (start-up and imports excluded).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
# the repository first: tests/bot is no package
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(REPO / "bench")]

from common import scratch_database  # noqa: E402
from fakebotapi import TOKEN, FakeBotAPI  # noqa: E402
from push_support import (  # noqa: E402
    arrivals,
    batch,
    repeats_per_run,
    store_articles,
    subscribe,
)

from storage.db import Database  # noqa: E402
from storage.push_repository import SubscriptionSpec  # noqa: E402

PG_URL = os.environ.get("NEWSBOT_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
TELEGRAM_RATE = 30


@asynccontextmanager
async def fresh_store(backend: str, folder: Path) -> AsyncIterator[tuple[Database, str]]:
    drop = None
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{folder / f'{uuid.uuid4().hex[:8]}.db'}"
    else:
        url, drop = await scratch_database(PG_URL, "push_bench")
    db = Database(url)
    await db.upgrade()
    try:
        yield db, url
    finally:
        await db.dispose()
        if drop is not None:
            await drop()


def start_push(
    url: str, fake: FakeBotAPI, rate: float, *extra: str, lease_ttl: float = 30
) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "NEWSBOT_DATABASE_URL": url,
        "NEWSBOT_TELEGRAM_TOKEN": TOKEN,
        "NEWSBOT_TELEGRAM_BASE_URL": fake.base_url,
    }
    command = [sys.executable, "-m", "bot.cli.main", "push", "--json"]
    command += ["--lease-ttl", str(lease_ttl), "--rate", str(rate), "--wait-lease", "30", *extra]
    return subprocess.Popen(
        command, env=env, cwd=tempfile.gettempdir(), stdout=subprocess.PIPE, text=True
    )


async def seed(db: Database, chats: int, articles: int, prefix: str) -> set[tuple[int, Any, str]]:
    first = 1_000_000
    await subscribe(
        db,
        [
            SubscriptionSpec(chat_id=first + n, chat_type="private", max_items=articles)
            for n in range(chats)
        ],
    )
    await store_articles(db, batch(prefix, articles))
    return {(first + c, None, f"{prefix}-{a}") for c in range(chats) for a in range(articles)}


def delivery_figures(fake: FakeBotAPI, expected: set[tuple[int, Any, str]]) -> dict[str, Any]:
    delivered = arrivals(fake.sent)
    return {
        "expected": len(expected),
        "delivered_unique": len(set(delivered) & expected),
        "lost": len(expected - set(delivered)),
        "duplicates": sum(count - 1 for count in delivered.values()),
        "unexpected": len(set(delivered) - expected),
    }


async def fan_out(
    backend: str, folder: Path, chats: int, articles: int, limit: int
) -> dict[str, Any]:
    """One clean push round against a fake enforcing `limit` messages a second.

    The steady rate leaves out the first second's burst (a sliding window lets `limit`
    messages through at once): (messages - limit) / (last arrival - first arrival).
    """
    async with fresh_store(backend, folder) as (db, url):
        expected = await seed(db, chats, articles, "fan")
        with FakeBotAPI(token_required=TOKEN, flood_limits=True, global_per_second=limit) as fake:
            process = start_push(url, fake, limit, "--private-interval", "1")
            out, _ = await asyncio.to_thread(process.communicate)
            report = json.loads(out)
            times = [message.at for message in fake.sent]
            span = times[-1] - times[0] if len(times) > limit else float("nan")
            rate = (len(times) - limit) / span
            return {
                "backend": backend,
                "limit_per_second": limit,
                "messages": len(times),
                "seconds": round(span, 3),
                "steady_rate_per_second": round(rate, 2),
                "ratio_to_limit": round(rate / limit, 4),
                "max_in_any_second": fake.max_in_window(1.0),
                "flood_429_answers": fake.too_many_requests,
                "cpu_ms_per_message": round(1000 * report["cpu_seconds"] / max(1, len(times)), 3),
                **delivery_figures(fake, expected),
            }


async def crash_rounds(
    backend: str, folder: Path, chats: int, articles: int, kills: int
) -> dict[str, Any]:
    """SIGKILL the push `kills` times mid fan-out, then let it finish, then restart it clean."""
    chance = random.Random(2026)
    async with fresh_store(backend, folder) as (db, url):
        expected = await seed(db, chats, articles, "crash")
        with FakeBotAPI(token_required=TOKEN, flood_limits=True, global_per_second=1_000) as fake:
            kill_times: list[float] = []
            for _ in range(kills):
                before = len(fake.sent)
                process = start_push(url, fake, 900, "--private-interval", "0", lease_ttl=2)
                target = before + chance.randint(1, max(2, len(expected) // (kills + 2)))
                while len(fake.sent) < target and process.poll() is None:  # noqa: ASYNC110
                    await asyncio.sleep(0.002)
                if process.poll() is not None:
                    break
                process.send_signal(signal.SIGKILL)
                await asyncio.to_thread(process.wait)
                kill_times.append(time.monotonic() + 0.5)
            finisher = start_push(url, fake, 900, "--private-interval", "0", lease_ttl=2)
            await asyncio.to_thread(finisher.communicate)
            after_finish = len(fake.sent)
            clean = start_push(url, fake, 900, "--private-interval", "0", lease_ttl=2)
            await asyncio.to_thread(clean.communicate)
            *per_kill, after_finish_repeats = repeats_per_run(fake.sent, kill_times)
            return {
                "backend": backend,
                "kills": len(kill_times),
                "duplicates_per_kill": per_kill,
                "max_duplicates_per_kill": max(per_kill, default=0),
                "repeats_of_the_finishing_run": after_finish_repeats,
                "sent_by_clean_restart": len(fake.sent) - after_finish,
                **delivery_figures(fake, expected),
            }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--chats", type=int, default=300)
    parser.add_argument("--articles", type=int, default=2)
    parser.add_argument("--kills", type=int, default=10)
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results: dict[str, Any] = {
        "fan_out_at_telegram_limit": [],
        "fan_out_unthrottled": [],
        "crash": [],
    }
    with tempfile.TemporaryDirectory() as folder:
        for backend in backends:
            results["fan_out_at_telegram_limit"].append(
                await fan_out(backend, Path(folder), args.chats, args.articles, TELEGRAM_RATE)
            )
            results["fan_out_unthrottled"].append(
                await fan_out(backend, Path(folder), args.chats * 5, args.articles, 1_000)
            )
            results["crash"].append(
                await crash_rounds(backend, Path(folder), args.chats, args.articles * 3, args.kills)
            )
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())

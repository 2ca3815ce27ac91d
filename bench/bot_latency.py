"""Bot latency benchmark: from an update arriving to the `sendMessage` request leaving, through
the real handler path, against the search query alone; the running bot's memory; start-up time.

    .venv/bin/python bench/bot_latency.py --posts 100000

On a store of N synthetic posts (../shared/tools/synth_corpus.py, ingested through our
pipeline, cached under --work), in one run:
Each query is timed three ways back to back (so all three see the same machine load):
- `raw_sql`: the SQL statement `storage.search.search()` runs, executed raw on the driver;
- `search_call`: `search()` itself (SQL plus loading the hit articles and their stories);
- `handler`: `/search QUERY` as a Telegram update through the real `Application` (parsing,
  handler, service, snippets, renderer, keyboard) until the `sendMessage` request leaves;
  the transport is a `BaseRequest` that answers at once, so no network time is counted;
- `latest_handler`: the same for `/latest`;
- `newsbot run` as a subprocess against the fake Bot API (tests/fakebotapi.py): the time from
  spawning it to its first `getUpdates`, and its resident memory after answering searches.
Prints one JSON object (times in ms, memory in MB).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text
from telegram import Update

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]  # the repository first: tests/bot is no package

from bot_harness import RecordingRequest  # noqa: E402
from common import percentiles, read_posts, synth_corpus  # noqa: E402
from fakebotapi import FakeBotAPI  # noqa: E402
from search_reference import search_sql  # noqa: E402

from bot.app import build_application  # noqa: E402
from bot.ingest.pipeline import Ingestor, IngestReport, prepare  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.records import ArticleRecord  # noqa: E402
from storage.search import (  # noqa: E402
    SearchFilters,
    backend_for,
    search,
)

QUERIES = ["中国", "经济", "市场", "银行", "央行 降准", "人民币 汇率", "A股", "5G", "猪", "xyzzy"]
TOKEN = "123456:BENCH"
USER_ID = 4242
PAGE = 5
PACING = 0.04
"""Seconds between updates, so AIORateLimiter's 30 messages/s never holds one back."""


async def build_store(posts: int, work: Path) -> tuple[Path, float | None]:
    """The store of N posts, built once through our pipeline's batch writer and reused."""
    store = work / f"bot-{posts}.db"
    if store.exists():
        return store, None
    source = synth_corpus(posts, work)
    partial = store.with_suffix(".part.db")
    partial.unlink(missing_ok=True)
    db = Database(f"sqlite+aiosqlite:///{partial}")
    await db.upgrade()
    tz = load_settings().tz
    ingestor = Ingestor(db, IngestReport())
    started = time.perf_counter()
    for raw in read_posts(source):
        record = prepare(raw, tz)
        if isinstance(record, ArticleRecord):
            await ingestor.add(record)
    await ingestor.flush()
    seconds = time.perf_counter() - started
    await db.dispose()
    partial.rename(store)
    return store, seconds


class InstantRequest(RecordingRequest):
    """A transport that answers every Bot API call at once and notes when `sendMessage` left."""

    def __init__(self) -> None:
        super().__init__()
        self.sent_at: list[float] = []

    def answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "getMe":
            result: Any = {"id": 1, "is_bot": True, "first_name": "B", "username": "bench_bot"}
        elif method in {"sendMessage", "editMessageText"}:
            self.sent_at.append(time.perf_counter())
            result = {
                "message_id": len(self.sent_at),
                "date": int(time.time()),
                "chat": {"id": params.get("chat_id"), "type": "private"},
                "text": "x",
            }
        else:
            result = True
        return 200, {"ok": True, "result": result}


def message_update(update_id: int, command: str) -> dict[str, Any]:
    head = command.split()[0]
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": USER_ID, "type": "private"},
            "from": {"id": USER_ID, "is_bot": False, "first_name": "U", "language_code": "zh"},
            "text": command,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(head)}],
        },
    }


async def handler_samples(
    application: Any, request: InstantRequest, commands: list[str], runs: int
) -> list[float]:
    samples = []
    update_id = 0
    for _ in range(runs):
        for command in commands:
            update_id += 1
            before = len(request.sent_at)
            arrived = time.perf_counter()
            update = Update.de_json(message_update(update_id, command), application.bot)
            await application.process_update(update)
            assert len(request.sent_at) == before + 1, command
            samples.append(request.sent_at[-1] - arrived)
            await asyncio.sleep(PACING)
    return samples


async def measure_latency(store: Path, runs: int) -> dict[str, Any]:
    url = f"sqlite+aiosqlite:///{store}"
    settings = load_settings(telegram={"token": TOKEN}, database={"url": url})
    db = Database(url)
    request = InstantRequest()
    application = build_application(settings, db, request=request)
    raw: list[float] = []
    calls: list[float] = []
    async with application:
        async with db.session() as session:
            articles = int(await session.scalar(text("SELECT count(*) FROM articles")) or 0)
            backend = backend_for(session)
            for query in QUERIES:  # warm caches and jieba once, outside the samples
                await search(session, query, limit=PAGE + 1)
        await handler_samples(application, request, [f"/search {q}" for q in QUERIES], 1)
        handler: list[float] = []
        for _ in range(runs):
            for query in QUERIES:
                sql, params = search_sql(
                    backend, backend.scheme.query(query), SearchFilters(), limit=PAGE + 1, offset=0
                )
                async with db.session() as session:
                    started = time.perf_counter()
                    list(await session.execute(text(sql), params))
                    raw.append(time.perf_counter() - started)
                async with db.session() as session:
                    started = time.perf_counter()
                    await search(session, query, limit=PAGE + 1)
                    calls.append(time.perf_counter() - started)
                handler += await handler_samples(application, request, [f"/search {query}"], 1)
        latest = await handler_samples(application, request, ["/latest"], runs * 5)
    await db.dispose()
    result = {
        "articles": articles,
        "raw_sql": percentiles(raw),
        "search_call": percentiles(calls),
        "handler": percentiles(handler),
        "latest_handler": percentiles(latest),
    }
    result["handler_p99_over_raw_sql_p99"] = round(
        result["handler"]["p99_ms"] / max(result["raw_sql"]["p99_ms"], 1e-9), 2
    )
    result["handler_p99_over_search_call_p99"] = round(
        result["handler"]["p99_ms"] / max(result["search_call"]["p99_ms"], 1e-9), 2
    )
    return result


def rss_mb(pid: int) -> dict[str, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in {"VmRSS", "VmHWM"}:
            fields[name] = round(int(value.split()[0]) / 1024, 1)
    return fields


def running_bot(store: Path, starts: int) -> dict[str, Any]:
    """`newsbot run` against the fake Bot API: start-up to first poll, then memory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    startup = []
    memory: dict[str, float] = {}
    for attempt in range(starts):
        with FakeBotAPI() as api:
            env.update(
                NEWSBOT_TELEGRAM_TOKEN=TOKEN,
                NEWSBOT_TELEGRAM_BASE_URL=api.base_url,
                NEWSBOT_DATABASE_URL=f"sqlite+aiosqlite:///{store}",
            )
            spawned = time.monotonic()
            process = subprocess.Popen(
                [sys.executable, "-m", "bot.cli.main", "run"],
                env=env,
                cwd=REPO,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                startup.append(api.wait_for_poll(timeout=60) - spawned)
                if attempt == starts - 1:
                    user = api.user(USER_ID)
                    commands = ["/latest", *(f"/search {q}" for q in QUERIES), "/trending"]
                    for number, command in enumerate(commands, 1):
                        api.push_update(api.message_update(USER_ID, user, command))
                        api.wait_for(lambda c: c.method == "sendMessage", count=number, timeout=60)
                    memory = rss_mb(process.pid)
            finally:
                process.send_signal(signal.SIGINT)
                process.wait(timeout=30)
    return {
        "startup_to_first_poll_s": {
            "median": round(statistics.median(startup), 3),
            "max": round(max(startup), 3),
            "runs": len(startup),
        },
        "bot_rss_mb": memory.get("VmRSS"),
        "bot_peak_rss_mb": memory.get("VmHWM"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20, help="rounds over the query list")
    parser.add_argument("--starts", type=int, default=3, help="bot start-ups to time")
    parser.add_argument("--work", type=Path, default=Path("/tmp/newsbot-bench"))
    args = parser.parse_args()

    store, ingest_seconds = asyncio.run(build_store(args.posts, args.work))
    result: dict[str, Any] = {"posts": args.posts, "store": str(store)}
    if ingest_seconds is not None:
        result["store_build_s"] = round(ingest_seconds, 1)
    result.update(asyncio.run(measure_latency(store, args.runs)))
    result.update(running_bot(store, args.starts))
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()

"""Short reads on the event loop or off it: what `Database.read(short=True)` costs the loop.

    .venv/bin/python bench/read_lag_bench.py --database-url sqlite:///path/store.db

U concurrent readers each run short reads (a page of `/latest`) back to back for T seconds,
while a ticker sleeping 1 ms measures how late the loop wakes it (the lag every other chat
would see). Run twice in one process, interleaved: `on_loop` (the read runs in the calling
thread, as before) and `off_loop` (the current `SqliteReader`, one thread kept for short
reads). Prints JSON: read p50/p99 and loop lag p50/p99/max, in ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import percentiles

from storage.db import Database, SqliteReader
from storage.views import latest_views


async def on_loop(self: SqliteReader, query: Any, *, short: bool = False) -> Any:
    """The previous `SqliteReader.run`: a short read in the caller's (the loop's) thread."""
    if short:
        return self._run_short(query)
    return await asyncio.get_running_loop().run_in_executor(self._threads, self._run, query)


async def measure(db: Database, readers: int, seconds: float) -> dict[str, Any]:
    reads: list[float] = []
    lags: list[float] = []
    stop = time.monotonic() + seconds

    async def reader(n: int) -> None:
        offset = 0
        while time.monotonic() < stop:
            started = time.perf_counter()
            await db.read(partial(latest_views, limit=5, offset=offset), short=True)
            reads.append(time.perf_counter() - started)
            offset = (offset + 5 * (n + 1)) % 500

    async def ticker() -> None:
        while time.monotonic() < stop:
            started = time.perf_counter()
            await asyncio.sleep(0.001)
            lags.append(max(0.0, time.perf_counter() - started - 0.001))

    await asyncio.gather(ticker(), *(reader(n) for n in range(readers)))
    lag = percentiles(lags)
    return {
        "reads": len(reads),
        "read": percentiles(reads),
        "loop_lag_p50_ms": lag["p50_ms"],
        "loop_lag_p99_ms": lag["p99_ms"],
        "loop_lag_max_ms": round(max(lags) * 1000, 3),
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--readers", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    db = Database(args.database_url)
    off_loop = SqliteReader.run
    results: dict[str, list[dict[str, Any]]] = {"on_loop": [], "off_loop": []}
    try:
        await db.read(partial(latest_views, limit=5), short=True)
        for _ in range(args.rounds):
            for name, run in (("on_loop", on_loop), ("off_loop", off_loop)):
                SqliteReader.run = run  # type: ignore[method-assign]
                results[name].append(await measure(db, args.readers, args.seconds))
    finally:
        SqliteReader.run = off_loop  # type: ignore[method-assign]
        await db.dispose()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())

"""What the benchmark scripts share: the synthetic corpus, reading it, percentiles, and scratch
PostgreSQL databases."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

from bot.ingest.sources import RawPost

REPO = Path(__file__).resolve().parent.parent
SYNTH = REPO.parent / "shared" / "tools" / "synth_corpus.py"


def synth_corpus(posts: int, folder: Path) -> Path:
    """`synth_corpus.py --count N --jsonl`, made once per folder and reused: it is deterministic."""
    path = folder / f"synth-{posts}.jsonl"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        command = [sys.executable, str(SYNTH), "--count", str(posts), "--jsonl", str(partial)]
        subprocess.run(command, check=True)
        partial.rename(path)
    return path


def read_posts(path: Path) -> Iterator[RawPost]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            item = json.loads(line)
            yield RawPost(origin=item["name"], filename=item["name"], text=item["text"])


def percentiles(samples: list[float]) -> dict[str, float]:
    """Median and 99th percentile (nearest rank) of timings in seconds, in milliseconds."""
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(p99 * 1000, 3),
        "samples": len(ordered),
    }


async def scratch_database(
    url: str, prefix: str, *, template: str | None = None
) -> tuple[str, Callable[[], Awaitable[None]]]:
    """A new PostgreSQL database on the server `url` names, empty or a copy of `template`: its
    URL (`url` with that database) and how to drop it. Both run from the `postgres` database."""
    import asyncpg  # type: ignore[import-untyped]
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres")
    admin_dsn = admin.render_as_string(hide_password=False)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(admin_dsn)
    try:
        create = f'CREATE DATABASE "{name}"'
        if template is not None:
            # FILE_COPY (PostgreSQL 15) copies the files after a checkpoint instead of writing
            # every block to the WAL, the faster way for a store of gigabytes
            strategy = " STRATEGY = FILE_COPY" if conn.get_server_version().major >= 15 else ""
            create += f' TEMPLATE "{template}"{strategy}'
        await conn.execute(create)
    finally:
        await conn.close()

    async def drop() -> None:
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    return parsed.set(database=name).render_as_string(hide_password=False), drop

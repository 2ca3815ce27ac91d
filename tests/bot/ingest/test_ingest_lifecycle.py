"""An ingest never leaves processes behind: workers die with their parent (kill -9), SIGTERM
stops a run cleanly, and a run left unfinished by a dead process is marked interrupted."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from storage.db import Database
from storage.models import IngestRun
from storage.runs import mark_interrupted

# Ingests the corpus with every post in two worker processes (no threshold), slowly enough to
# be caught in the middle: each prepared post waits a little in the parent.
INGEST = """
import asyncio, sys, time
from bot.ingest import pipeline
from bot.settings import load_settings
from storage.db import Database

add = pipeline.Ingestor.add
async def slow_add(self, record, *args, **kwargs):
    if not self.pending:
        print("adding", flush=True)
    await asyncio.sleep(0.05)
    await add(self, record, *args, **kwargs)
pipeline.Ingestor.add = slow_add

async def main():
    from bot.cli.store import stop_on_sigterm
    stop_on_sigterm()
    db = Database(sys.argv[1])
    await db.upgrade()
    try:
        await pipeline.ingest(db, [sys.argv[2]], settings=load_settings(), pool_threshold=0)
    except asyncio.CancelledError:
        print("cancelled", flush=True)
    finally:
        await db.dispose()

asyncio.run(main())
"""


def children_of(pid: int) -> set[int]:
    """Every live descendant of `pid`, from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rpartition(")")[2].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def start_ingest(tmp_path: Path, corpus_dir: Path) -> tuple[subprocess.Popen[str], str, set[int]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    env = {**os.environ, "NEWSBOT_INGEST_WORKERS": "2"}
    process = subprocess.Popen(
        [sys.executable, "-c", INGEST, url, str(corpus_dir)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    workers: set[int] = set()
    while len(workers) < 2 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
        workers = children_of(process.pid)
    assert len(workers) >= 2, "the ingest started its worker processes"
    assert process.stdout is not None and process.stdout.readline() == "adding\n"
    time.sleep(1.0)  # in the middle of the run
    return process, url, children_of(process.pid)


def wait_gone(pids: set[int], seconds: float = 15.0) -> set[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        left = {pid for pid in pids if alive(pid)}
        if not left:
            return left
        time.sleep(0.2)
    return {pid for pid in pids if alive(pid)}


async def test_kill_9_leaves_no_worker_and_the_run_is_marked_interrupted(
    corpus_dir: Path, tmp_path: Path
) -> None:
    process, url, descendants = start_ingest(tmp_path, corpus_dir)
    process.kill()
    process.wait()
    assert wait_gone(descendants) == set(), "workers and the resource tracker exit too"

    db = Database(url)
    async with db.session() as session, session.begin():
        [run] = await session.scalars(select(IngestRun))
        assert run.finished_at is None and run.pid == process.pid
        assert await mark_interrupted(session) == 1
    async with db.session() as session:
        [run] = await session.scalars(select(IngestRun))
        assert run.status == "interrupted" and run.finished_at is not None
    await db.dispose()


async def test_sigterm_stops_an_ingest_cleanly(corpus_dir: Path, tmp_path: Path) -> None:
    process, url, descendants = start_ingest(tmp_path, corpus_dir)
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0 and "cancelled" in out
    assert wait_gone(descendants) == set()
    db = Database(url)
    async with db.session() as session:
        [run] = await session.scalars(select(IngestRun))
    assert run.status == "interrupted" and run.finished_at is not None
    assert 0 < run.added < 165, "the run stopped in the middle, keeping what it stored"
    await db.dispose()


def dead_pid() -> int:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    return gone.pid


async def test_only_runs_of_dead_processes_of_this_host_are_marked(database: Database) -> None:
    gone = dead_pid()
    here = socket.gethostname()
    async with database.session() as session, session.begin():
        session.add_all(
            [
                IngestRun(sources=["dead"], pid=gone, host=here),
                IngestRun(sources=["live"], pid=os.getpid(), host=here),
                IngestRun(sources=["elsewhere"], pid=gone, host=here + "-other"),
            ]
        )
    async with database.session() as session, session.begin():
        assert await mark_interrupted(session) == 1
    async with database.session() as session:
        runs = {r.sources[0]: r for r in await session.scalars(select(IngestRun))}
    assert runs["dead"].status == "interrupted" and runs["dead"].finished_at is not None
    assert runs["live"].finished_at is None and runs["elsewhere"].finished_at is None

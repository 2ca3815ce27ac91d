"""Whole-store rebuilds for the bot (chat commands, jobs): run by a `newsbot` subprocess.

Reindexing, regrouping stories, recounting trends and re-summarizing segment every article
with jieba: minutes of CPU on a large store. In the bot's process even a thread would hold
the GIL against the event loop; a child process leaves the loop and its core alone. The
child opens the same store; SQLite's WAL and PostgreSQL let the bot keep reading meanwhile.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from bot.services import trending
from storage.db import Database


@dataclass(frozen=True, slots=True)
class MaintenanceResult:
    ok: bool
    output: str
    """The command's last line: its summary, or its one-line error."""


async def run_newsbot(db: Database, arguments: Sequence[str]) -> MaintenanceResult:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli.main",
        *arguments,
        "--database-url",
        db.url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await process.communicate()
    except asyncio.CancelledError:
        process.terminate()
        await process.wait()
        raise
    text = (out if process.returncode == 0 else err or out).decode("utf-8", "replace").strip()
    return MaintenanceResult(process.returncode == 0, text.splitlines()[-1] if text else "")


async def reindex(db: Database) -> MaintenanceResult:
    """Rebuild the search index, story groups and trending counts off the event loop."""
    result = await run_newsbot(db, ["reindex"])
    trending.forget(db)
    return result

"""Ingest runs: which process ran them, and how they ended."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import IngestRun


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def mark_interrupted(session: AsyncSession) -> int:
    """Runs left unfinished by a process of this host that is gone (killed, crashed) are
    marked `interrupted`; returns how many. A run of another host, or of a live process,
    may still be running and is left alone."""
    host = socket.gethostname()
    found = 0
    for run in await session.scalars(select(IngestRun).where(IngestRun.finished_at.is_(None))):
        if run.host == host and run.pid is not None and not _alive(run.pid):
            run.status = "interrupted"
            run.finished_at = datetime.now(UTC)
            found += 1
    return found

"""Worker processes for ingest preparation that never outlive the process that started them.

A `ProcessPoolExecutor` worker waits on its call queue and does not notice its parent dying
(`kill -9`, an out-of-memory kill): it and multiprocessing's resource tracker lived on for
minutes, about 220 MB each. Here each worker asks Linux to kill it when its parent dies
(`PR_SET_PDEATHSIG`), and elsewhere, or if the parent died before that, a watch thread exits
it once its parent is gone.

Each worker also runs `nice` steps below its parent: preparing posts is batch work, and on a
machine with few cores it took the CPU from the bot's replies. Where Linux groups processes by
session for scheduling (`kernel.sched_autogroup_enabled`, the default of most distributions), a
nice value only ranks a process within its session's group, and the group as a whole competes
with every other group (the database server's among them) at full weight. So such a worker
starts a session of its own and lowers that group's priority (`/proc/self/autogroup`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
PARENT_POLL_SECONDS = 1.0


AUTOGROUP_SWITCH = "/proc/sys/kernel/sched_autogroup_enabled"
AUTOGROUP = "/proc/self/autogroup"


def autogroups_enabled() -> bool:
    """Whether Linux schedules processes by session (see the module doc)."""
    try:
        with open(AUTOGROUP_SWITCH, encoding="ascii") as switch:
            return switch.read().strip() == "1"
    except OSError:  # not Linux, or a kernel without autogroups
        return False


def _lower_priority(nice: int) -> None:
    """`nice` steps down, for the scheduler's autogroups too (see the module doc)."""
    os.nice(nice)
    if not autogroups_enabled() or not os.access(AUTOGROUP, os.W_OK):
        return  # a session of its own at full weight would compete harder than before
    try:
        os.setsid()
        with open(AUTOGROUP, "w", encoding="ascii") as group:
            group.write(str(nice))
    except OSError as exc:  # no such file (not Linux), or not allowed
        log.debug("an ingest worker keeps its session's scheduling group: %s", exc)


def _die_with_parent(parent: int, nice: int = 0) -> None:
    """Run first in every worker: lower its priority by `nice`, exit when `parent` is gone."""
    if nice:
        _lower_priority(nice)
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except OSError:
            log.warning("no prctl: an ingest worker watches its parent instead")
    # SIGINT and SIGTERM are for the parent, which shuts its pool down in order.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="newsbot-parent-watch", daemon=True).start()


def worker_pool(workers: int, nice: int = 0) -> ProcessPoolExecutor:
    """A spawn-context process pool whose workers exit with this process."""
    return ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_die_with_parent,
        initargs=(os.getpid(), nice),
    )


def warm_up() -> None:
    """Load what preparing a post needs (run in a fresh worker)."""
    import jieba

    import bot.ingest.pipeline  # noqa: F401

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    time.sleep(0.5)  # long enough that the other workers get their own warm-up

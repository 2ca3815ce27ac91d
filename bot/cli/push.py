"""`newsbot push`: run the push job on its own, once or in a loop (one replica sends at a time)."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import time
from dataclasses import asdict
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from bot.cli.store import EXIT_FAILED, EXIT_OK, EXIT_USAGE, add_database_option, run_with_database

if TYPE_CHECKING:
    from bot.push.delivery import PushReport
    from bot.settings import Settings
    from storage.db import Database


def _merge(total: PushReport, part: PushReport) -> None:
    """Counts and lists add up; a flag set in any round stays set."""
    for name, value in vars(part).items():
        mine = getattr(total, name)
        setattr(total, name, (mine or value) if isinstance(value, bool) else mine + value)


async def _push(args: argparse.Namespace, db: Database, settings: Settings) -> int:
    import asyncio

    from bot.push.delivery import Pusher, PushReport
    from bot.push.governor import FloodLimits
    from bot.telegram_push import standalone_messenger
    from storage.push_repository import lease_for

    if not settings.telegram.token:
        print("newsbot: NEWSBOT_TELEGRAM_TOKEN is not set", file=sys.stderr)
        return EXIT_USAGE
    limits = FloodLimits(
        per_second=args.rate,
        per_group_minute=args.group_per_minute,
        private_interval=args.private_interval,
    )
    messenger = standalone_messenger(
        settings.telegram.token.get_secret_value(), settings.telegram.base_url
    )
    lease = lease_for(db, timedelta(seconds=args.lease_ttl))
    pusher = Pusher(db, messenger, lease, tz=settings.tz, limits=limits)
    total = PushReport(had_lease=False)
    started = time.monotonic()
    stop = asyncio.Event()

    def request_stop() -> None:
        stop.set()
        pusher.stop()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, request_stop)
    async with messenger.bot:
        cpu_at_start = time.process_time()
        while not stop.is_set():
            report = await pusher.run_once()
            if report.had_lease:
                total.had_lease = True
                _merge(total, report)
            waited = time.monotonic() - started
            if not args.loop and (report.had_lease or waited > args.wait_lease):
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), args.interval if report.had_lease else 0.2)
    if args.json:
        cpu_seconds = time.process_time() - cpu_at_start
        print(json.dumps({**asdict(total), "cpu_seconds": cpu_seconds}), flush=True)
    return EXIT_OK if total.had_lease or args.loop else EXIT_FAILED


def _run(args: argparse.Namespace) -> int:
    return run_with_database(args, lambda db, settings: _push(args, db, settings))


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("push", help="send subscribed headlines (one round, or --loop)")
    add_database_option(p)
    p.add_argument("--loop", action="store_true", help="keep pushing every --interval seconds")
    p.add_argument("--interval", type=float, default=30.0, help="seconds between rounds")
    p.add_argument(
        "--wait-lease",
        type=float,
        default=0.0,
        help="seconds to wait for another replica's lease before giving up (default: do not)",
    )
    p.add_argument("--lease-ttl", type=float, default=30.0, help="SQLite lease expiry, seconds")
    p.add_argument("--rate", type=float, default=30.0, help="messages per second overall")
    p.add_argument("--group-per-minute", type=int, default=20, help="messages a minute per group")
    p.add_argument(
        "--private-interval", type=float, default=1.0, help="seconds between messages to a user"
    )
    p.add_argument("--json", action="store_true", help="print the round's report as JSON")
    p.set_defaults(func=_run)

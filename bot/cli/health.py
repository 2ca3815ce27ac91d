"""`newsbot healthcheck`: exit 0 when the bot can work, for Docker's HEALTHCHECK.

With `--url` it asks the webhook server's health endpoint; without, it checks that the store
answers and its schema is at the newest migration (what a long-polling bot needs).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.cli.store import EXIT_FAILED, EXIT_OK, add_database_option, settings_from


async def _store_ready(url: str) -> str | None:
    from storage.db import Database, current_revision, head_revision

    db = Database(url)
    try:
        current = await current_revision(db.engine)
    except Exception as exc:
        return f"the store does not answer: {exc}"
    finally:
        await db.dispose()
    if current != head_revision():
        return f"the schema is at {current or 'nothing'}, not {head_revision()}"
    return None


def _healthcheck(args: argparse.Namespace) -> int:
    import asyncio

    import httpx

    if args.url:
        try:
            response = httpx.get(args.url, timeout=args.timeout)
        except httpx.HTTPError as exc:
            problem: str | None = f"{args.url} does not answer: {exc}"
        else:
            problem = None if response.status_code == 200 else f"{args.url}: {response.status_code}"
    else:
        settings = settings_from(args)
        problem = asyncio.run(asyncio.wait_for(_store_ready(settings.database.url), args.timeout))
    if problem:
        print(f"newsbot: unhealthy: {problem}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("healthcheck", help="exit 0 when the bot's store (or URL) is ready")
    add_database_option(p)
    p.add_argument(
        "--url", help="a health endpoint to GET instead, e.g. http://127.0.0.1:8080/healthz"
    )
    p.add_argument("--timeout", type=float, default=5.0, help="seconds before giving up")
    p.set_defaults(func=_healthcheck)

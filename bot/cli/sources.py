"""`newsbot sources list|add|remove [--json]`: the chat's /sources, /addsource and
/removesource on the command line, through the same services."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.cli.store import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    add_database_option,
    print_json,
    run_with_database,
)

if TYPE_CHECKING:  # imported where used, so `newsbot --help` loads neither SQLAlchemy nor jieba
    from bot.services.replies import Notice, SourceHealth
    from bot.settings import Settings
    from storage.db import Database


def source_to_json(source: SourceHealth) -> dict[str, Any]:
    data = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in asdict(source).items()}
    del data["scheduled"]
    return data


def _notice(args: argparse.Namespace, notice: Notice) -> None:
    from bot.i18n import text

    message = text("en", notice.message, **notice.values)
    if args.json:
        print_json({"error": notice.message, "message": message})
    else:
        print(f"newsbot: {message}", file=sys.stderr)


async def _list(args: argparse.Namespace, db: Database, settings: Settings) -> int:
    from bot.i18n import text
    from bot.services import sources as source_service
    from bot.services.replies import Notice

    await source_service.seed(db, settings)
    listed = await source_service.list_sources(db, settings)
    sources = listed.sources if not isinstance(listed, Notice) else ()
    if args.json:
        print_json([source_to_json(s) for s in sources])
        return EXIT_OK
    for s in sources:
        when = s.last_run_at.isoformat(timespec="seconds") if s.last_run_at else "never"
        print(
            f"{s.id:>4}  {s.kind:<7} {s.location}  last run {when}, "
            f"{s.last_status or 'not run'}, {s.items_seen} items"
        )
        if s.last_error:
            print(f"      error: {s.last_error}")
        if s.gap_count:
            print(f"      {text('en', 'ingest_gap', source=s.location)}")
    if not sources:
        print(text("en", "sources_none"), file=sys.stderr)
    return EXIT_OK


async def _add(args: argparse.Namespace, db: Database, settings: Settings) -> int:
    from bot.i18n import text
    from bot.services import sources as source_service
    from bot.services.replies import Notice, SourcePreview, Viewer

    words = [args.source] + ([f"tz={args.tz}"] if args.tz else [])
    words += [f"every={args.every}"] if args.every else []
    viewer = Viewer(user_id=None, lang="en", is_admin=True, display_name="cli")
    reply = await source_service.add_source(db, settings, words, viewer)
    if isinstance(reply, Notice):
        _notice(args, reply)
        if reply.message == "source_updated":
            return EXIT_OK
        return EXIT_USAGE if reply.message.endswith("usage") else EXIT_FAILED
    assert isinstance(reply, SourcePreview)
    if args.json:
        print_json(
            {
                "id": reply.saved_id,
                "location": reply.location,
                "kind": reply.kind,
                "found": reply.found,
                "titles": list(reply.titles),
                "failed": [{"source": f.source, "error": f.error} for f in reply.failures],
            }
        )
    else:
        print(
            text("en", "preview_found", location=reply.location, kind=reply.kind, count=reply.found)
        )
        for title in reply.titles:
            print(f"  {title}")
        for failure in reply.failures[:3]:
            print(f"  failed: {failure.source}: {failure.error}", file=sys.stderr)
        saved = "preview_saved" if reply.saved_id is not None else "preview_not_saved"
        print(text("en", saved, id=reply.saved_id))
    return EXIT_OK if reply.saved_id is not None else EXIT_FAILED


async def _remove(args: argparse.Namespace, db: Database, settings: Settings) -> int:
    from bot.i18n import text
    from bot.services import sources as source_service

    notice = await source_service.remove_source(db, [str(args.id)])
    if notice.message != "source_removed":
        _notice(args, notice)
        return EXIT_FAILED
    if args.json:
        print_json({"removed": args.id, "location": notice.values["location"]})
    else:
        print(text("en", notice.message, **notice.values))
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("sources", help="list, add or remove followed sources")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="every scheduled source and its health")
    adding = actions.add_parser("add", help="trial-read a source, and save it when it gives posts")
    adding.add_argument("source", help="feed, page or git URL, or a path under the allowed roots")
    adding.add_argument(
        "--tz", help="how zone-less times are read: an IANA zone, or jekyll-utc[:ZONE]"
    )
    adding.add_argument("--every", help="read it this often (30m, 1h); default the setting")
    removing = actions.add_parser("remove", help="stop following a source")
    removing.add_argument("id", type=int)
    bodies = {"list": _list, "add": _add, "remove": _remove}
    for action, sub in (("list", listing), ("add", adding), ("remove", removing)):
        sub.add_argument("--json", action="store_true", help="print JSON")
        add_database_option(sub)
        body = bodies[action]
        sub.set_defaults(
            func=lambda args, body=body: run_with_database(
                args, lambda db, settings: body(args, db, settings)
            )
        )

"""Store commands: `ingest`, `latest`, `show`, `resummarize` and `db upgrade`."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where used, so `newsbot --help` loads neither SQLAlchemy nor jieba
    from bot.settings import Settings
    from storage.db import Database
    from storage.records import ArticleView

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_TERMINATED = 128 + signal.SIGTERM
MAX_COUNT = 1_000_000_000
"""The largest --limit or --offset taken: beyond it a number cannot be a position in a store."""


def add_database_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        help="SQLAlchemy URL (sqlite:///… or postgresql://…); default NEWSBOT_DATABASE_URL",
    )


def settings_from(args: argparse.Namespace) -> Settings:
    from bot.settings import load_settings

    settings = load_settings()
    if getattr(args, "database_url", None):
        settings.database.url = args.database_url
    return settings


def open_database(settings: Settings) -> Database:
    from bot.store import database_of
    from storage.db import DatabaseURLError

    try:
        db = database_of(settings)
    except DatabaseURLError as exc:
        raise UsageError(str(exc)) from exc
    database = db.engine.url.database
    if db.dialect == "sqlite" and database and database != ":memory:":
        folder = Path(database).expanduser().parent
        if not folder.is_dir():
            raise StoreUnavailable(f"cannot open the SQLite file {database}: no folder {folder}")
    return db


class StoreUnavailable(Exception):
    """The store cannot be opened at all (exit 1, not a usage error)."""


class UsageError(Exception):
    pass


def run_with_database(
    args: argparse.Namespace,
    body: Callable[[Database, Settings], Awaitable[int]],
    *,
    migrate: bool = True,
) -> int:
    """Open the store (upgrading a SQLite default on first use), run `body`, close the store."""
    import asyncio

    from storage.db import StoreError

    try:
        settings = settings_from(args)
        db = open_database(settings)
    except (UsageError, StoreUnavailable) as exc:
        print(f"newsbot: {exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, UsageError) else EXIT_FAILED

    async def _main() -> int:
        try:
            if migrate:
                await db.ensure_schema()
            return await body(db, settings)
        finally:
            await db.dispose()

    try:
        return asyncio.run(_main())
    except BrokenPipeError:
        raise
    except (UsageError, OSError, RuntimeError) as exc:
        print(f"newsbot: {exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, UsageError) else EXIT_FAILED
    except StoreError as exc:
        print(f"newsbot: database error: {one_line(exc)}", file=sys.stderr)
        return EXIT_FAILED


def one_line(exc: BaseException) -> str:
    """The driver's own message, first line only: never the statement or its parameters."""
    from storage.db import driver_error

    exc = driver_error(exc)
    message = str(exc).strip().splitlines()
    return message[0] if message else type(exc).__name__


def article_to_json(article: ArticleView, tz: tzinfo, *, full: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "key": article.key,
        "title": article.title,
        "published_at": article.published_at.astimezone(tz).isoformat(),
        "category": article.category,
        "tags": list(article.tags),
        "source": article.source,
        "summary": article.summary,
        "share_url": article.share_url,
        "file": article.file,
    }
    if full:
        data["paragraphs"] = [
            {"text": text, "heading": bool(heading)} for text, heading in article.paragraphs
        ]
        data["digest"] = article.digest
    return data


def print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def print_article_lines(articles: Sequence[ArticleView], tz: tzinfo) -> None:
    for article in articles:
        when = article.published_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        print(f"{when}  [{article.category or '-'}] {article.title}  ({article.key})")
        if article.summary:
            print(f"    {article.summary}")
        if article.share_url:
            print(f"    {article.share_url}")


def _ingest(args: argparse.Namespace) -> int:
    import asyncio

    from bot.ingest.pipeline import ingest

    async def body(db: Database, settings: Settings) -> int:
        stop_on_sigterm()
        try:
            report = await ingest(
                db, args.sources, settings=settings, progress=not args.json and sys.stderr.isatty()
            )
        except asyncio.CancelledError:
            print(
                "newsbot: ingest stopped by SIGTERM; the run is recorded as interrupted",
                file=sys.stderr,
            )
            return EXIT_TERMINATED
        if args.json:
            print_json(report.to_json())
        else:
            print(
                f"added {report.added}, updated {report.updated}, unchanged {report.unchanged}, "
                f"not modified {len(report.not_modified)}, "
                f"failed {len(report.failed)} in {report.seconds:.2f} s"
            )
            for source in report.not_modified:
                print(f"  not modified (HTTP 304): {source}")
            for source in report.gaps:
                print(f"  items may have been missed: {source}", file=sys.stderr)
            for failure in report.failed:
                print(f"  failed: {failure.source}: {failure.error}", file=sys.stderr)
            for duplicate in report.duplicates:
                print(f"  duplicate: {duplicate.source}: {duplicate.error}", file=sys.stderr)
            for note in report.notes:
                print(f"  note: {note.source}: {note.error}", file=sys.stderr)
        return EXIT_OK if report.ok else EXIT_FAILED

    return run_with_database(args, body)


def stop_on_sigterm() -> None:
    """SIGTERM cancels the running command's task, so it stops at its next await and cleans
    up (worker processes shut down, the ingest run recorded) instead of dying mid-way."""
    import asyncio

    task = asyncio.current_task()
    if task is not None and hasattr(signal, "SIGTERM"):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)


def _latest(args: argparse.Namespace) -> int:
    from functools import partial

    filters = {"category": args.category, "tag": args.tag, "limit": args.limit}

    async def body(db: Database, settings: Settings) -> int:
        from storage.views import latest_views

        query = partial(latest_views, **filters, offset=args.offset)
        return print_latest(args, await db.read(query), settings.tz)

    from storage.sqlite_latest import latest_views, open_current

    settings = settings_from(args)
    plain = open_current(settings.database.url)
    if plain is None:
        return run_with_database(args, body)

    with contextlib.closing(plain):
        try:
            articles = latest_views(plain, **filters, offset=args.offset)
        except plain.Error:  # busy, or a file gone bad: the full path says so in its words
            return run_with_database(args, body)
    return print_latest(args, articles, settings.tz)


def print_latest(args: argparse.Namespace, articles: Sequence[ArticleView], tz: tzinfo) -> int:
    if args.json:
        print_json([article_to_json(a, tz) for a in articles])
    else:
        print_article_lines(articles, tz)
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    from storage.repository import ArticleRepository

    async def body(db: Database, settings: Settings) -> int:
        async with db.session() as session:
            article = await ArticleRepository(session).view(args.key)
        if article is None:
            print(f"newsbot: no article with key {args.key!r}", file=sys.stderr)
            return EXIT_FAILED
        if args.json:
            print_json(article_to_json(article, settings.tz, full=True))
            return EXIT_OK
        print_article_lines([article], settings.tz)
        for text, heading in article.paragraphs:
            print(f"\n## {text}" if heading else f"\n{text}")
        return EXIT_OK

    return run_with_database(args, body)


def _resummarize(args: argparse.Namespace) -> int:
    from bot.ingest.pipeline import resummarize
    from bot.summarize import SUMMARIZER_VERSION

    async def body(db: Database, settings: Settings) -> int:
        done = await resummarize(db, everything=args.all)
        print(f"re-summarized {done} articles (summarizer version {SUMMARIZER_VERSION})")
        return EXIT_OK

    return run_with_database(args, body)


def _db_upgrade(args: argparse.Namespace) -> int:
    async def body(db: Database, settings: Settings) -> int:
        await db.upgrade()
        print(f"database at the newest schema ({db.engine.url.render_as_string()})")
        return EXIT_OK

    return run_with_database(args, body, migrate=False)


def whole(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value[:40]!r}") from None
    if number > MAX_COUNT:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_COUNT}")
    return number


def positive(value: str) -> int:
    number = whole(value)
    if number <= 0:
        raise argparse.ArgumentTypeError("must be a positive whole number")
    return number


def non_negative(value: str) -> int:
    number = whole(value)
    if number < 0:
        raise argparse.ArgumentTypeError("must be zero or more")
    return number


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("ingest", help="ingest folders, post URLs or feed URLs")
    p.add_argument("sources", nargs="+", metavar="SOURCE")
    p.add_argument("--json", action="store_true", help="print one JSON object with the counts")
    add_database_option(p)
    p.set_defaults(func=_ingest)

    p = subparsers.add_parser("latest", help="list the newest articles")
    p.add_argument("--category")
    p.add_argument("--tag")
    p.add_argument("--limit", type=positive, default=10)
    p.add_argument("--offset", type=non_negative, default=0)
    p.add_argument("--json", action="store_true")
    add_database_option(p)
    p.set_defaults(func=_latest)

    p = subparsers.add_parser("show", help="show one article by its key")
    p.add_argument("key")
    p.add_argument("--json", action="store_true")
    add_database_option(p)
    p.set_defaults(func=_show)

    p = subparsers.add_parser("resummarize", help="re-summarize articles of older summarizers")
    p.add_argument("--all", action="store_true", help="re-summarize every article")
    add_database_option(p)
    p.set_defaults(func=_resummarize)

    db = subparsers.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    p = db_sub.add_parser("upgrade", help="run the migrations up to the newest schema")
    add_database_option(p)
    p.set_defaults(func=_db_upgrade)

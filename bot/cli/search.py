"""Search commands: `search`, `trending` and `reindex`."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any

from bot.cli.store import (
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    add_database_option,
    article_to_json,
    positive,
    print_json,
    run_with_database,
    whole,
)

if TYPE_CHECKING:
    from bot.settings import Settings
    from storage.db import Database
    from storage.records import ArticleView
    from storage.search import SearchHit


def parse_when(value: str) -> datetime:
    """An ISO date or date-time; argparse reports anything else as a usage error."""
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO date: {value!r}") from exc


def _aware(value: datetime | None, tz: tzinfo) -> datetime | None:
    """The date in `tz` unless it has an offset; one no zone can hold is a usage error."""
    if value is None:
        return None
    aware = value if value.tzinfo is not None else value.replace(tzinfo=tz)
    try:
        aware.astimezone(UTC)
    except (OverflowError, ValueError):
        raise UsageError(f"date out of range: {value.isoformat()}") from None
    return aware


def snippet(article: ArticleView, query: str) -> str:
    """The sentences of the article that hold the query's terms, else its stored summary."""
    from bot.summarize import snippet as query_snippet

    return query_snippet(
        article.title,
        [str(item[0]) for item in article.paragraphs or []],
        query,
        fallback=article.summary or article.digest or "",
    ).text


def hit_to_json(hit: SearchHit, query: str, tz: tzinfo) -> dict[str, Any]:
    data = article_to_json(hit.article, tz)
    data["score"] = round(hit.score, 6)
    data["snippet"] = snippet(hit.article, query)
    data["other_sources"] = list(hit.other_sources)
    return data


def print_hits(hits: list[SearchHit], query: str, tz: tzinfo) -> None:
    for hit in hits:
        article = hit.article
        when = article.published_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        print(f"{when}  [{article.category or '-'}] {article.title}  ({article.key})")
        text = snippet(article, query)
        if text:
            print(f"    {text}")
        if hit.other_sources:
            print(f"    also: {', '.join(hit.other_sources)}")


def _search(args: argparse.Namespace) -> int:
    from storage.search import SearchFilters, search

    if args.limit < 1 or args.offset < 0:
        print("newsbot: --limit must be at least 1 and --offset not negative", file=sys.stderr)
        return EXIT_USAGE

    async def body(db: Database, settings: Settings) -> int:
        filters = SearchFilters(
            category=args.category,
            tag=args.tag,
            since=_aware(args.since, settings.tz),
            until=_aware(args.until, settings.tz),
        )
        async with db.session() as session:
            hits = await search(session, args.query, filters, limit=args.limit, offset=args.offset)
        if args.json:
            print_json([hit_to_json(hit, args.query, settings.tz) for hit in hits])
        elif hits:
            print_hits(hits, args.query, settings.tz)
        else:
            # Exit 0: finding nothing is an answer, not a failure (`--json` prints []).
            print(f"no article matches {args.query!r}" + (" here" if args.offset else ""))
        return EXIT_OK

    return run_with_database(args, body)


def _trending(args: argparse.Namespace) -> int:
    from storage.trending import trending_terms

    async def body(db: Database, settings: Settings) -> int:
        async with db.session() as session:
            terms = await trending_terms(session, hours=args.hours, limit=args.limit)
        if args.json:
            print_json(
                [
                    {
                        "term": t.term,
                        "count": t.count,
                        "background_count": t.background_count,
                        "score": round(t.score, 3),
                        "sources": t.sources,
                    }
                    for t in terms
                ]
            )
        else:
            for t in terms:
                print(f"{t.term}\t{t.count}\t{t.background_count}\t{t.score:.1f}")
        return EXIT_OK

    return run_with_database(args, body)


def _reindex(args: argparse.Namespace) -> int:
    from storage.search import index_scheme, rebuild_index
    from storage.stories import rebuild_stories
    from storage.trending import rebuild_term_counts

    async def body(db: Database, settings: Settings) -> int:
        async with db.session() as session, session.begin():
            indexed = await rebuild_index(session)
            scheme = index_scheme(session)
        stories = 0
        if not args.index_only:
            async with db.session() as session, session.begin():
                stories = await rebuild_stories(session)
        async with db.session() as session, session.begin():
            await rebuild_term_counts(session)
        print(
            f"indexed {indexed} articles with {scheme.id}"
            + ("" if args.index_only else f"; regrouped {stories} articles into stories")
        )
        return EXIT_OK

    return run_with_database(args, body)


def register(subparsers: Any) -> None:
    search = subparsers.add_parser(
        "search",
        help="full-text search, best matches first",
        usage="%(prog)s [--category SLUG] [--tag TAG] [--since DATE] [--until DATE] [--limit N] "
        "[--offset N] [--json] [--database-url URL] [--] QUERY",
        epilog="A query starting with '-' goes after '--': newsbot search -- -5%%. "
        "With no match it prints a line saying so and exits 0.",
    )
    search.add_argument(
        "query",
        help="words to find (all must match); any text is safe; put -- before a query that "
        "starts with '-': newsbot search -- -5%%",
    )
    search.add_argument("--category", metavar="SLUG")
    search.add_argument("--tag", metavar="TAG")
    search.add_argument("--since", type=parse_when, metavar="DATE", help="published at or after")
    search.add_argument("--until", type=parse_when, metavar="DATE", help="published before")
    search.add_argument("--limit", type=whole, default=10, metavar="N")
    search.add_argument("--offset", type=whole, default=0, metavar="N")
    search.add_argument("--json", action="store_true", help="print JSON")
    add_database_option(search)
    search.set_defaults(func=_search)

    trending = subparsers.add_parser(
        "trending", help="terms of many recent stories, far more than in the weeks before"
    )
    trending.add_argument(
        "--hours", type=float, default=24.0, help="window length up to the newest story"
    )
    trending.add_argument("--limit", type=positive, default=10, metavar="N")
    trending.add_argument("--json", action="store_true", help="print JSON")
    add_database_option(trending)
    trending.set_defaults(func=_trending)

    reindex = subparsers.add_parser(
        "reindex", help="rebuild the search index (and the story groups) with the current tokenizer"
    )
    reindex.add_argument(
        "--index-only", action="store_true", help="keep the story groups as they are"
    )
    add_database_option(reindex)
    reindex.set_defaults(func=_reindex)

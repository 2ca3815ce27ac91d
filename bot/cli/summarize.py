"""`newsbot summarize --jsonl IN`: summaries of JSON-lines articles, the interface evaluations use.

Each input line is `{"id", "article"[, "title"]}` with newlines between the article's
paragraphs; each output line is `{"id", "summary"}`. A bad line is reported on stderr with its
line number and skipped; the command then exits 1, having still written every good line.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from typing import Any, TextIO

from bot.cli.store import EXIT_FAILED, EXIT_OK, EXIT_USAGE, positive


class BadLine(ValueError):
    """An input line that is not a JSON object with a string `id` and `article`."""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "summarize",
        help="summarize JSON-lines articles to stdout",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--jsonl", required=True, metavar="IN", help="input file, or - for stdin")
    parser.add_argument(
        "--max-chars", type=positive, default=120, metavar="N", help="budget (default 120)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.jsonl == "-":
        return summarize_lines(sys.stdin, args.max_chars, sys.stdout, sys.stderr)
    try:
        with open(args.jsonl, encoding="utf-8") as lines:
            return summarize_lines(lines, args.max_chars, sys.stdout, sys.stderr)
    except OSError as exc:
        print(f"newsbot summarize: cannot read {args.jsonl}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    except UnicodeDecodeError as exc:
        print(f"newsbot summarize: {args.jsonl} is not UTF-8: {exc.reason}", file=sys.stderr)
        return EXIT_USAGE


def summarize_lines(lines: Iterable[str], max_chars: int, out: TextIO, err: TextIO) -> int:
    from bot.summarize import summarize

    bad = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item_id, title, article = read_item(line)
        except BadLine as exc:
            bad += 1
            print(f"newsbot summarize: line {number}: {exc}", file=err)
            continue
        summary = summarize(title, article.split("\n"), max_chars=max_chars)
        print(json.dumps({"id": item_id, "summary": summary}, ensure_ascii=False), file=out)
    return EXIT_FAILED if bad else EXIT_OK


def read_item(line: str) -> tuple[Any, str, str]:
    """The id, title ("" when absent) and article text of one input line."""
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        raise BadLine(f"not JSON ({exc.msg} at column {exc.colno})") from exc
    if not isinstance(item, dict):
        raise BadLine("not a JSON object")
    if "id" not in item:
        raise BadLine('no "id"')
    article, title = item.get("article"), item.get("title", "")
    if not isinstance(article, str):
        raise BadLine(f'id {item["id"]!r}: "article" must be a string')
    if not isinstance(title, str):
        raise BadLine(f'id {item["id"]!r}: "title" must be a string')
    return item["id"], title, article

"""Fuzz the ingest and the chat front end with mutated real posts and hostile queries.

Real posts from ../shared/corpus/finews go through a seeded mutator (byte flips, truncations,
date and YAML mutations, huge fields, control and format characters, other encodings, broken
markup, duplicate article ids), are written as files and ingested by the real pipeline
(`bot.ingest.pipeline.ingest`, worker processes included). Every post the parser accepts on its
own is a good post and must be in the store afterwards. Then fuzzed queries and arguments go
through the services and the renderer (every reply checked against Telegram's HTML rules and
length), and one in `--handler-every` through the real python-telegram-bot `Application`
against the fake Bot API, which answers 400 for any message Telegram would refuse.

A crash is an exception out of ingest, a service, the renderer or a handler; a post failure
reported as an "internal error"; a log record at ERROR; or a reply Telegram would refuse.

    python bench/fuzz.py --posts 2000 --queries 2000 [--backend sqlite|postgresql|both]

prints {"posts", "queries", "crashes", "lost_good_posts", "backends": {name: {...}}}; the
baseline is the unmutated corpus ingested into the same store first (posts per second).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(REPO / "bench")]

from common import scratch_database  # noqa: E402
from fakebotapi import FakeBotAPI, html_error, utf16_length  # noqa: E402

from bot.ingest.parser import ParseError, parse_post  # noqa: E402
from bot.ingest.pipeline import ingest  # noqa: E402
from bot.ingest.sources import RawPost, read_file  # noqa: E402
from bot.render.html import RenderContext, render, render_inline  # noqa: E402
from bot.render.keyboards import CallbackStore  # noqa: E402
from bot.services import articles, search  # noqa: E402
from bot.services.replies import PageQuery, Viewer  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.search import SearchFilters, search_articles  # noqa: E402

CORPUS = Path(os.environ.get("NEWSBOT_SHARED_DIR", REPO.parent / "shared")) / "corpus" / "finews"
PG_ADMIN = os.environ.get(
    "NEWSBOT_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
CHUNK_FILES = 1000
MAX_EXAMPLES = 5

DATES = [
    "0001-01-01 00:00:00 +0800",
    "9999-12-31 23:59:59 -1200",
    "9999-12-31 23:59:59 +0800",
    "1969-12-31 23:59:59 +0000",
    "1970-01-01 00:00:00 +0000",
    "2024-02-30 10:00:00",
    "2024-01-01 25:61:00 +0800",
    "2024-01-01 10:00:00 +2500",
    "2024-01-01 10:00:00 -0000",
    "2024-01-01T10:00:00Z",
    "2024-1-1",
    "",
    "[2024, 1]",
    "{year: 2024}",
    "２０２４-０１-０１",
    "99999999999-01-01",
    "2024-01-01 10:00:00.123456789 +08:00",
    "now",
    "'2024-01-01'",
]
YAML_JUNK = [
    "title: [unclosed",
    "title: !!python/object/apply:os.system ['echo owned']",
    "title: &a [*a, *a]",
    "tags: {a: b}",
    "categories: ~",
    "\ttitle: tab",
    "? [complex, key]\n: value",
    "<<: *missing",
    "title: " + "[" * 2000 + "]" * 2000,
    "title: |\n  multi\n  line",
    "title: 2024",
    "title: null",
    "tags: [1, 2.5, true]",
    "date: !!timestamp 2024-01-01",
    "%YAML 1.1",
    "---",
    "...",
    "title: '" + "''" * 500,
]
INSERTS = [
    "\x00",
    "\x1b[31m",
    "\u202e",
    "\u2066",
    "\u200b",
    "\ufeff",
    "\x7f",
    "\r",
    "\u0085",
    "&lol;",
    "<script>alert(1)</script>",
    "<div>" * 3000,
    "</p></div></b>",
    "<!--",
    "]]>",
    "👨\u200d👩\u200d👧",
    "\U0010ffff",
]
QUERY_ATOMS = [
    "央行",
    "降准",
    "韶关",
    "新能源",
    "5G",
    "AI",
    '"',
    "*",
    "(",
    ")",
    "^",
    "-",
    ":",
    "OR",
    "AND",
    "NOT",
    "NEAR(",
    "title:",
    "#",
    "#科技日报新闻",
    "'; DROP TABLE articles; --",
    "\x00",
    "\x07",
    "\u202e",
    "\u200b",
    "\ud800",
    "😀",
    "%",
    "_",
    "\\",
    "<b>",
    "&amp;",
    " ",
    "\n",
    "\t",
    "9" * 30,
    "-5",
    "999999",
    "０",
    "²",
    "٣",
]


@dataclass
class Tally:
    posts: int = 0
    good_posts: int = 0
    stored_good: int = 0
    lost_good_posts: int = 0
    queries: int = 0
    handler_queries: int = 0
    crashes: int = 0
    examples: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def crash(self, what: str) -> None:
        self.crashes += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(what[-2000:])


class ErrorCounter(logging.Handler):
    """Counts log records at ERROR (an exception somebody caught and logged is still a crash)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class Mutator:
    def __init__(self, seed: int, bases: list[bytes]) -> None:
        self.rng = random.Random(seed)
        self.bases = bases
        self.kinds: list[Callable[[bytes], bytes]] = [
            self.flip_bytes,
            self.truncate,
            self.date,
            self.yaml,
            self.huge,
            self.insert,
            self.encoding,
        ]
        self.weights = [0.5 if kind == self.huge else 1.0 for kind in self.kinds]

    def post(self) -> bytes:
        data = self.rng.choice(self.bases)
        if self.rng.random() < 0.2:
            return data
        for _ in range(self.rng.randint(1, 3)):
            # Huge fields half as often as the rest: each costs what a hundred posts do.
            data = self.rng.choices(self.kinds, self.weights)[0](data)
        return data

    def flip_bytes(self, data: bytes) -> bytes:
        out = bytearray(data)
        for _ in range(self.rng.randint(1, 12)):
            if out:
                out[self.rng.randrange(len(out))] = self.rng.randrange(256)
        return bytes(out)

    def truncate(self, data: bytes) -> bytes:
        return data[: self.rng.randrange(len(data) + 1)]

    def _front_lines(self, data: bytes) -> tuple[list[str], str]:
        text = data.decode("utf-8", "surrogateescape")
        return text.split("\n"), text

    def date(self, data: bytes) -> bytes:
        lines, _ = self._front_lines(data)
        now = datetime.now(UTC)
        choices = [
            *DATES,
            (now + timedelta(days=self.rng.choice([1, 3, 400]))).strftime(
                "%Y-%m-%d %H:%M:%S +0000"
            ),
        ]
        new = f"date: {self.rng.choice(choices)}"
        for index, line in enumerate(lines[:40]):
            if line.startswith("date:"):
                lines[index] = new
                break
        else:
            lines.insert(1, new)
        return "\n".join(lines).encode("utf-8", "surrogateescape")

    def yaml(self, data: bytes) -> bytes:
        lines, _ = self._front_lines(data)
        junk = self.rng.choice(YAML_JUNK)
        if self.rng.random() < 0.5:
            for index, line in enumerate(lines[:40]):
                if line.startswith(("title:", "tags:", "categories:")):
                    lines[index] = junk
                    break
        else:
            lines.insert(self.rng.randint(1, min(6, len(lines))), junk)
        return "\n".join(lines).encode("utf-8", "surrogateescape")

    def huge(self, data: bytes) -> bytes:
        """Fields tens to hundreds of times their usual size (the 5 MB file limit is tested
        elsewhere; a megabyte post costs seconds to summarize and would starve the run)."""
        lines, _ = self._front_lines(data)
        kind = self.rng.randrange(4)
        if kind == 0:
            lines.insert(1, "title: " + "长" * self.rng.choice([5_000, 50_000]))
        elif kind == 1:
            tags = range(self.rng.choice([500, 5_000]))
            lines.insert(1, "tags: " + " ".join(f"t{i}" for i in tags))
        elif kind == 2:
            lines.append("<p>" + "段落很长。" * self.rng.choice([2_000, 40_000]) + "</p>")
        else:
            lines.append("<p>短。</p>\n" * self.rng.choice([500, 5_000]))
        return "\n".join(lines).encode("utf-8", "surrogateescape")

    def insert(self, data: bytes) -> bytes:
        text = data.decode("utf-8", "surrogateescape")
        for _ in range(self.rng.randint(1, 6)):
            at = self.rng.randrange(len(text) + 1)
            text = text[:at] + self.rng.choice(INSERTS) + text[at:]
        return text.encode("utf-8", "surrogateescape")

    def encoding(self, data: bytes) -> bytes:
        text = data.decode("utf-8", "replace")
        codec = self.rng.choice(["gbk", "gb18030", "utf-16", "big5", "latin-1", "shift_jis"])
        return text.encode(codec, "replace")

    def query(self) -> str:
        words = [self.rng.choice(QUERY_ATOMS) for _ in range(self.rng.randint(1, 6))]
        if self.rng.random() < 0.05:
            words.append("央" * self.rng.choice([199, 200, 201, 5000]))
        joiner = self.rng.choice(["", " ", "\x00", "\u3000"])
        return joiner.join(words)


STARTED = time.perf_counter()


def progress(tally: Tally, where: str) -> None:
    """A line on stderr per chunk, so a long run shows how far it got."""
    print(
        f"fuzz {time.perf_counter() - STARTED:.0f}s {where}: crashes {tally.crashes}, "
        f"lost {tally.lost_good_posts} of {tally.good_posts} good",
        file=sys.stderr,
        flush=True,
    )


def write_posts(mutator: Mutator, folder: Path, start: int, count: int, tally: Tally) -> None:
    """Mutated posts as files with unique ids; about 2% reuse an id already written."""
    folder.mkdir(parents=True)
    (folder / "dup").mkdir()
    for number in range(start, start + count):
        article = number
        where = folder
        if number > 0 and mutator.rng.random() < 0.02:
            article = (
                mutator.rng.randrange(max(start, number - 50), number) if number > start else 0
            )
            where = folder / "dup"
        name = f"2024-01-01-NW{article:018d}.md"
        (where / name).write_bytes(mutator.post())
        tally.posts += 1


def good_keys(folder: Path, tz: Any, crashes: list[str]) -> set[str]:
    """Keys of the posts the parser accepts on its own: these must all be stored."""
    keys = set()
    for path in sorted(folder.rglob("*.md")):
        raw = read_file(path)
        if isinstance(raw, RawPost):
            try:
                keys.add(parse_post(raw.text, raw.filename, tz=tz).key)
            except ParseError:
                pass
            except Exception:  # the parser promises ParseError only
                crashes.append(f"{path.name}: parse_post raised {traceback.format_exc()}")
    return keys


async def stored_keys(db: Database, keys: set[str]) -> set[str]:
    from sqlalchemy import select

    from storage.models import Article

    found: set[str] = set()
    ordered = sorted(keys)
    async with db.session() as session:
        for start in range(0, len(ordered), 500):
            rows = await session.scalars(
                select(Article.key).where(Article.key.in_(ordered[start : start + 500]))
            )
            found.update(rows)
    return found


async def fuzz_posts(db: Database, posts: int, mutator: Mutator, work: Path, tally: Tally) -> None:
    settings = load_settings()
    done = 0
    while done < posts:
        count = min(CHUNK_FILES, posts - done)
        folder = work / f"chunk-{done}"
        write_posts(mutator, folder, done, count, tally)
        crashes: list[str] = []
        keys = good_keys(folder, settings.tz, crashes)
        for crash in crashes:
            tally.crash(crash)
        try:
            report = await ingest(db, [str(folder)], settings=settings)
        except Exception:
            tally.crash(f"ingest raised: {traceback.format_exc()}")
        else:
            for failure in report.failed:
                if "internal error" in failure.error:
                    tally.crash(f"{failure.source}: {failure.error}")
        stored = await stored_keys(db, keys)
        tally.good_posts += len(keys)
        tally.stored_good += len(stored)
        tally.lost_good_posts += len(keys - stored)
        if keys - stored and len(tally.examples) < MAX_EXAMPLES:
            tally.examples.append(f"lost: {sorted(keys - stored)[:5]}")
        shutil.rmtree(folder)
        done += count
        progress(tally, f"posts {done}/{posts}")


def _check_render(reply: Any, ctx: RenderContext, tally: Tally, what: str) -> None:
    for message in render(reply, ctx):
        problem = html_error(message.html)
        if problem or utf16_length(message.html) > 4096:
            tally.crash(f"{what}: Telegram would refuse the reply: {problem or 'too long'}")


async def fuzz_queries(db: Database, queries: int, mutator: Mutator, tally: Tally) -> None:
    rng = mutator.rng
    viewers = [
        Viewer(user_id=1, lang="zh"),
        Viewer(user_id=1, lang="en", in_group=True),
        Viewer(user_id=1, lang="zh", is_admin=True),
    ]
    for _ in range(queries):
        query = mutator.query()
        viewer = rng.choice(viewers)
        ctx = RenderContext(viewer.lang, load_settings().tz, CallbackStore(), viewer.in_group)
        kind = rng.randrange(5)
        what = f"query kind {kind} {query[:80]!r}"
        try:
            if kind == 0:
                reply: Any = await search.search_command(db, query.split(" "), viewer)
                _check_render(reply, ctx, tally, what)
            elif kind == 1:
                reply = await articles.latest_command(db, query.split(" ")[:3], viewer)
                _check_render(reply, ctx, tally, what)
            elif kind == 2:
                offset = rng.choice(["", "10", "-1", "99999", "x", "٣", str(rng.randrange(600))])
                inline = await search.inline_search(db, query, offset)
                for result in inline.results:
                    html = render_inline(result, ctx).html
                    if html_error(html) or utf16_length(html) > 4096:
                        tally.crash(f"{what}: Telegram would refuse the inline result")
            elif kind == 3:
                page = PageQuery(
                    rng.choice(["latest", "category", "tag", "search"]),  # type: ignore[arg-type]
                    offset=rng.choice([0, 5, 10**7, -3]),
                    limit=rng.choice([0, 5, 999, -1]),
                    category=rng.choice([None, query[:30]]),
                    tag=rng.choice([None, query[:30]]),
                    query=query,
                )
                reply = await search.open_page(db, page, viewer)
                _check_render(reply, ctx, tally, what)
            else:
                await db.read(
                    lambda session, q=query: search_articles(
                        session, q, SearchFilters(), limit=10, offset=0
                    )
                )
        except Exception:
            tally.crash(f"{what}: {traceback.format_exc()}")
        tally.queries += 1
        if tally.queries % 1000 == 0:
            progress(tally, f"queries {tally.queries}/{queries}")


async def fuzz_handlers(url: str, count: int, mutator: Mutator, tally: Tally) -> None:
    """Queries through the real Application and the fake Bot API (which refuses bad HTML)."""
    from bot_harness import GROUP_ID, Conversation, bot_settings

    from bot.app import build_application

    if count <= 0:
        return
    with FakeBotAPI() as api:
        application = build_application(bot_settings(api, url))
        async with application:
            assert application.post_init is not None
            await application.post_init(application)
            await application.start()
            conversation = Conversation(api, application)
            for _ in range(count):
                query = mutator.query()
                command = mutator.rng.choice(["/search ", "/latest ", "/tag ", "/category ", ""])
                # A fresh group each time: PTB's limiter allows a group 20 messages a minute,
                # which would make the run wait instead of fuzz.
                chat = mutator.rng.choice([4242, GROUP_ID - mutator.rng.randrange(1, 10**9)])
                try:
                    if mutator.rng.random() < 0.2:
                        command = "inline "
                        calls = await conversation.inline(query)
                    else:
                        calls = await conversation.say(command + query, chat_id=chat)
                    refused = [c for c in calls if not c.ok]
                    if refused:
                        tally.crash(f"handler {command}{query[:60]!r}: {refused[0].response}")
                except Exception:
                    tally.crash(f"handler {command}{query[:60]!r}: {traceback.format_exc()}")
                tally.handler_queries += 1
            await application.stop()
            assert application.post_shutdown is not None
            await application.post_shutdown(application)


async def run_backend(
    backend: str, posts: int, queries: int, seed: int, handler_every: int, store: str | None = None
) -> dict[str, Any]:
    tally = Tally()
    errors = ErrorCounter()
    logging.getLogger().addHandler(errors)
    work = Path(tempfile.mkdtemp(prefix=f"newsbot-fuzz-{backend}-"))
    drop = None
    if store is not None:
        url = store  # a store fuzzed before: kept, e.g. to fuzz its queries again
    elif backend == "postgresql":
        url, drop = await scratch_database(PG_ADMIN, "fuzz")
    else:
        url = f"sqlite+aiosqlite:///{work / 'fuzz.db'}"
    db = Database(url)
    try:
        await db.upgrade()
        bases = [path.read_bytes() for path in sorted(CORPUS.glob("*.md"))]
        started = time.perf_counter()
        baseline = await ingest(db, [str(CORPUS)], settings=load_settings())
        baseline_seconds = time.perf_counter() - started
        mutator = Mutator(seed, bases)
        started = time.perf_counter()
        await fuzz_posts(db, posts, mutator, work, tally)
        tally.seconds["posts"] = time.perf_counter() - started
        handler_count = queries // handler_every if handler_every else 0
        started = time.perf_counter()
        await fuzz_queries(db, queries - handler_count, mutator, tally)
        await db.dispose()
        await fuzz_handlers(url, handler_count, mutator, tally)
        tally.seconds["queries"] = time.perf_counter() - started
    finally:
        await db.dispose()
        logging.getLogger().removeHandler(errors)
        shutil.rmtree(work, ignore_errors=True)
        if drop is not None:
            await drop()
    for record in errors.records:
        tally.crash(f"logged at ERROR: {record.getMessage()[:500]}")
    baseline_posts = baseline.added + baseline.updated + baseline.unchanged
    return {
        "posts": tally.posts,
        "queries": tally.queries + tally.handler_queries,
        "crashes": tally.crashes,
        "lost_good_posts": tally.lost_good_posts,
        "good_posts": tally.good_posts,
        "handler_queries": tally.handler_queries,
        "posts_per_second": round(tally.posts / tally.seconds["posts"], 1),
        "queries_per_second": round(
            (tally.queries + tally.handler_queries) / max(tally.seconds["queries"], 1e-9), 1
        ),
        "baseline_corpus_posts_per_second": round(baseline_posts / baseline_seconds, 1),
        "examples": tally.examples,
    }


async def fuzz(
    posts: int,
    queries: int,
    backends: list[str],
    seed: int = 12,
    handler_every: int = 10,
    store: str | None = None,
) -> dict[str, Any]:
    results = {
        backend: await run_backend(backend, posts, queries, seed, handler_every, store)
        for backend in backends
    }
    return {
        "posts": posts,
        "queries": queries,
        "crashes": sum(r["crashes"] for r in results.values()),
        "lost_good_posts": sum(r["lost_good_posts"] for r in results.values()),
        "backends": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument(
        "--handler-every", type=int, default=10, help="one query in N goes through the bot"
    )
    parser.add_argument(
        "--store", help="fuzz this existing store (one backend) instead of a new one; it is kept"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    logging.getLogger("bot.ingest.pipeline").setLevel(logging.ERROR)  # batch fallbacks are normal
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if args.store and len(backends) != 1:
        parser.error("--store needs --backend sqlite or --backend postgresql")
    result = asyncio.run(
        fuzz(args.posts, args.queries, backends, args.seed, args.handler_every, args.store)
    )
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()

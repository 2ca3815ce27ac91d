"""Search benchmark: ingest, search and `latest` timings on a synthetic store of N posts.

    .venv/bin/python bench/search_bench.py --posts 100000 --backend sqlite
    .venv/bin/python bench/search_bench.py --posts 100000 --backend postgresql

Builds the posts with ../shared/tools/synth_corpus.py (cached as JSONL), then in one run:
- ingests them through our pipeline (parse, summarize and tokenize in `--workers` processes;
  upsert with index and stories in this one), and through a bare baseline into the same engine
  in one process: parse, jieba `cut_for_search` (by the segmenter our tokenizer uses: rjieba
  when installed), and raw inserts of the article row and its index row (executemany on the
  driver, no summaries, no stories, no tags);
- times our search as `/search` runs it (`Database.read` of `search_articles`: the statement,
  the articles and their tags, the other sources of shared stories) on a fixed list of common,
  rare, mixed and empty queries against the very SQL statement it runs, executed raw on the
  driver (same terms, same parameters), interleaved;
- times `latest` as `/latest` runs it (`Database.read` of `latest_views`), and
  `ArticleRepository.latest()` in an async session;
and prints one JSON object (rates in posts/s, times in ms, peak RSS in MB).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import sqlite3
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import jieba
from common import percentiles, read_posts, synth_corpus
from search_reference import search_sql
from sqlalchemy import text

from bot.ingest.parser import parse_post
from bot.ingest.pipeline import Ingestor, IngestReport, Preparer, store_idf
from bot.settings import load_settings
from storage.db import Database
from storage.records import ArticleRecord
from storage.repository import ArticleRepository
from storage.search import (
    SearchFilters,
    backend_for,
    backend_of_dialect,
    search,
    search_articles,
)
from storage.tokenizer import search_segmenter
from storage.views import latest_views

REPO = Path(__file__).resolve().parent.parent
# A database of its own keeps a large run apart (`--schema public` then makes it the store
# `newsbot` and bench/load_bench.py open by URL).
PG_URL = os.environ.get("NEWSBOT_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
COMMON_QUERIES = ["中国", "经济", "发展", "市场", "企业", "人民", "银行", "记者"]
OTHER_QUERIES = ["央行 降准", "人民币 汇率", "A股", "5G", "猪", "中证500", "量子纠缠", "xyzzy"]
RARE_PER_KIND = 4
RUNS_PER_QUERY = 15
LATEST_RUNS = 300


def remove_sqlite_files(*files: Path) -> None:
    for file in files:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{file}{suffix}").unlink(missing_ok=True)


def rare_queries(path: Path) -> list[str]:
    """A few stock codes and made-up names from the long tail, picked at fixed places."""
    codes, names = [], []
    pattern = re.compile(r"([\u4e00-\u9fff]{2,4})（(\d{6})）")
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines):
            if number % 997 != 13:
                continue
            found = pattern.search(json.loads(line)["text"])
            if found:
                names.append(found.group(1))
                codes.append(found.group(2))
            if len(codes) >= RARE_PER_KIND:
                break
    return codes + names


async def timed_pair(
    first: Callable[[], Awaitable[Any]], second: Callable[[], Awaitable[Any]], runs: int
) -> tuple[list[float], list[float]]:
    """Both actions timed `runs` times, interleaved so they see the same machine load."""
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        for action, into in ((first, samples[0]), (second, samples[1])):
            started = time.perf_counter()
            await action()
            into.append(time.perf_counter() - started)
    return samples


def cpu_seconds() -> float:
    """CPU time of this process and of its children that ended (the ingest's workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


async def ingest_ours(db: Database, path: Path, workers: int) -> tuple[int, float]:
    """Our pipeline (`Preparer` and `Ingestor`, as `newsbot ingest` runs them), fed the posts
    straight from the JSONL file. Returns posts added and seconds."""
    tz = load_settings().tz
    report = IngestReport()
    ingestor = Ingestor(db, report)
    started = time.perf_counter()
    scheme = backend_of_dialect(db.engine.dialect.name).scheme
    preparer = Preparer(tz, await store_idf(db), scheme=scheme, workers=workers)
    try:
        async for prepared in preparer.run(read_posts(path)):
            if isinstance(prepared, ArticleRecord):
                await ingestor.add(prepared)
        await ingestor.flush()
        await ingestor.finish()
    finally:
        preparer.close()
    return report.added, time.perf_counter() - started


BARE_SQLITE = [
    "CREATE TABLE bare_articles (id INTEGER PRIMARY KEY, key TEXT UNIQUE, title TEXT,"
    " published_at TEXT, body TEXT)",
    "CREATE VIRTUAL TABLE bare_fts USING fts5(title, body, tokenize = 'ascii')",
]
BARE_PG = [
    "CREATE TABLE bare_articles (id BIGINT PRIMARY KEY, key TEXT UNIQUE, title TEXT,"
    " published_at TIMESTAMPTZ, body TEXT)",
    "CREATE TABLE bare_fts (article_id BIGINT PRIMARY KEY, document tsvector)",
    "CREATE INDEX bare_fts_document ON bare_fts USING gin (document)",
]


def segmented_batches(path: Path, batch: int) -> Iterator[list[tuple[Any, ...]]]:
    """Parsed posts with jieba's `cut_for_search` words, by the segmenter our tokenizer uses."""
    tz = load_settings().tz
    segment = search_segmenter()
    rows: list[tuple[Any, ...]] = []
    for number, raw in enumerate(read_posts(path), start=1):
        try:
            post = parse_post(raw.text, raw.filename, tz=tz)
        except ValueError:
            continue
        body = "\n".join(p.text for p in post.paragraphs)
        title_words = " ".join(segment(post.title))
        body_words = " ".join(segment(body))
        rows.append(
            (number, post.key, post.title, post.published_at, body, title_words, body_words)
        )
        if len(rows) >= batch:
            yield rows
            rows = []
    if rows:
        yield rows


def ingest_bare_sqlite(file: Path, path: Path, batch: int) -> tuple[int, float]:
    conn = sqlite3.connect(file)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    for statement in BARE_SQLITE:
        conn.execute(statement)
    done, started = 0, time.perf_counter()
    for rows in segmented_batches(path, batch):
        with conn:
            conn.executemany(
                "INSERT INTO bare_articles VALUES (?, ?, ?, ?, ?)",
                [(r[0], r[1], r[2], r[3].isoformat(), r[4]) for r in rows],
            )
            conn.executemany(
                "INSERT INTO bare_fts (rowid, title, body) VALUES (?, ?, ?)",
                [(r[0], r[5], r[6]) for r in rows],
            )
        done += len(rows)
    conn.close()
    return done, time.perf_counter() - started


async def ingest_bare_postgres(dsn: str, schema: str, path: Path, batch: int) -> tuple[int, float]:
    import asyncpg  # type: ignore[import-untyped]

    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    for statement in BARE_PG:
        await conn.execute(statement)
    done, started = 0, time.perf_counter()
    for rows in segmented_batches(path, batch):
        async with conn.transaction():
            await conn.executemany(
                "INSERT INTO bare_articles VALUES ($1, $2, $3, $4, $5)", [r[:5] for r in rows]
            )
            await conn.executemany(
                "INSERT INTO bare_fts VALUES ($1, setweight(to_tsvector('simple', $2), 'A')"
                " || setweight(to_tsvector('simple', $3), 'B'))",
                [(r[0], r[5], r[6]) for r in rows],
            )
        done += len(rows)
    await conn.close()
    return done, time.perf_counter() - started


def to_positional(sql: str, params: dict[str, Any]) -> tuple[str, list[Any]]:
    """`:name` parameters to asyncpg's `$n`."""
    order: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in order:
            order.append(name)
        return f"${order.index(name) + 1}"

    return re.sub(r"(?<!:):([a-z_]+)", number, sql), [params[n] for n in order]


async def time_searches(
    db: Database, queries: list[str], raw: Callable[[str, dict[str, Any]], Awaitable[Any]]
) -> dict[str, Any]:
    ours: list[float] = []
    bare: list[float] = []
    per_query = {}
    async with db.session() as session:
        backend = backend_for(session)
        for query in queries:
            sql, params = search_sql(
                backend, backend.scheme.query(query), SearchFilters(), limit=10, offset=0
            )
            read = partial(search_articles, query=query)
            await db.read(read)
            await raw(sql, params)
            mine, theirs = await timed_pair(
                lambda r=read: db.read(r),  # type: ignore[misc]
                lambda s=sql, p=params: raw(s, p),  # type: ignore[misc]
                RUNS_PER_QUERY,
            )
            hits = len(await search(session, query, limit=1000))
            per_query[query] = {
                "hits_top1000": hits,
                "ours_p50_ms": round(statistics.median(mine) * 1000, 3),
                "raw_p50_ms": round(statistics.median(theirs) * 1000, 3),
            }
            ours += mine
            bare += theirs
    return {"ours": percentiles(ours), "raw_sql": percentiles(bare), "queries": per_query}


async def time_latest(db: Database) -> dict[str, Any]:
    """`/latest`'s path (`Database.read`) and `ArticleRepository.latest` in an async session."""
    ours = partial(latest_views, limit=10)
    async with db.session() as session:
        repository = ArticleRepository(session)
        await db.read(ours, short=True)
        await repository.latest(limit=10)
        read, in_session = await timed_pair(
            lambda: db.read(ours, short=True),
            lambda: repository.latest(limit=10),
            LATEST_RUNS,
        )
    return {**percentiles(read), "async_session": percentiles(in_session)}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    path = synth_corpus(args.posts, Path(args.work_dir))
    queries = COMMON_QUERIES + OTHER_QUERIES + rare_queries(path)
    jieba.setLogLevel(60)
    jieba.initialize()
    schema = None
    if args.backend == "sqlite":
        store_file = Path(args.work_dir) / f"bench-{args.posts}.db"
        bare_file = Path(args.work_dir) / f"bare-{args.posts}.db"
        if not args.search_only:
            remove_sqlite_files(store_file, bare_file)
        db = Database(f"sqlite+aiosqlite:///{store_file}")
        sqlite_conn = sqlite3.connect(store_file)

        async def raw(sql: str, params: dict[str, Any]) -> Any:
            return sqlite_conn.execute(sql, params).fetchall()
    else:
        import asyncpg

        schema = args.schema or f"bench_{args.posts}"
        dsn = PG_URL.replace("+asyncpg", "")
        if not args.search_only:
            admin = await asyncpg.connect(dsn)
            for name in (schema, f"{schema}_bare"):
                await admin.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
                await admin.execute(f'CREATE SCHEMA "{name}"')
            await admin.close()
        db = Database(PG_URL, connect_args={"server_settings": {"search_path": schema}})
        pg_conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})

        async def raw(sql: str, params: dict[str, Any]) -> Any:
            positional, values = to_positional(sql, params)
            return await pg_conn.fetch(positional, *values)

    await db.upgrade()
    ingest: dict[str, Any] = {"skipped": "--search-only: timings of the existing store"}
    if not args.search_only:
        cpu = cpu_seconds()
        added, ours_seconds = await ingest_ours(db, path, args.workers)
        ours_cpu, cpu = cpu_seconds() - cpu, cpu_seconds()
        if args.backend == "sqlite":
            bare_added, bare_seconds = ingest_bare_sqlite(bare_file, path, args.batch)
        else:
            bare_added, bare_seconds = await ingest_bare_postgres(
                dsn, f"{schema}_bare", path, args.batch
            )
        bare_cpu = cpu_seconds() - cpu
        ours_rate = added / ours_seconds
        bare_rate = bare_added / bare_seconds
        ingest = {
            "ours_posts_per_s": round(ours_rate, 1),
            "bare_posts_per_s": round(bare_rate, 1),
            "ratio": round(ours_rate / bare_rate, 3),
            "ours_seconds": round(ours_seconds, 1),
            "ours_workers": args.workers,
            "bare_seconds": round(bare_seconds, 1),
            # CPU of this process and its workers (not the database server's): what the two
            # pipelines cost whatever else the machine runs, which wall times on a shared
            # machine do not show
            "ours_cpu_ms_per_post": round(1000 * ours_cpu / added, 3),
            "bare_cpu_ms_per_post": round(1000 * bare_cpu / bare_added, 3),
        }
    if args.backend == "postgresql":
        # this schema's tables only: a bare ANALYZE takes every schema's, and waits behind
        # another run's index build
        async with db.engine.begin() as conn:
            tables = await conn.scalars(
                text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            )
            for table in tables.all():
                await conn.execute(text(f'ANALYZE "{table}"'))
    searches = await time_searches(db, queries, raw)
    latest = await time_latest(db)
    async with db.session() as session:
        stats = await ArticleRepository(session).stats()
        if args.backend == "sqlite":
            store_bytes = store_file.stat().st_size
        else:
            store_bytes = int(
                await session.scalar(
                    text(
                        "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c"
                        " JOIN pg_namespace n ON n.oid = c.relnamespace"
                        " WHERE n.nspname = current_schema() AND c.relkind = 'r'"
                    )
                )
                or 0
            )
    await db.dispose()
    return {
        "backend": args.backend,
        "posts": args.posts,
        "articles": stats.articles,
        "stories": stats.stories,
        "store_mb": round(store_bytes / 2**20, 1),
        "ingest": ingest,
        "search": {
            **{k: v for k, v in searches.items() if k != "queries"},
            "p99_ratio": round(searches["ours"]["p99_ms"] / searches["raw_sql"]["p99_ms"], 3),
            "runs_per_query": RUNS_PER_QUERY,
            "queries": searches["queries"],
        },
        "latest": {**latest, "runs": LATEST_RUNS},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--work-dir", default="/tmp/newsbot-bench")
    parser.add_argument("--batch", type=int, default=200, help="baseline batch size")
    parser.add_argument(
        "--workers",
        type=int,
        default=load_settings().ingest.workers,
        help="our pipeline's worker processes (default: NEWSBOT_INGEST_WORKERS)",
    )
    parser.add_argument(
        "--schema", help="PostgreSQL schema of the run (default bench_N; its bare twin gets _bare)"
    )
    parser.add_argument(
        "--search-only", action="store_true", help="time searches on the store a run left"
    )
    print(json.dumps(asyncio.run(run(parser.parse_args())), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()

"""`latest` at scale: p50/p99 of our newest-first listing against the same query in raw SQL.

Loads N synthetic posts (`../shared/tools/synth_corpus.py --jsonl`) into a SQLite store of our
schema, parsed by our parser but written with plain executemany and without the search index
(which `latest` never reads; `--index` fills it on every core for `search_bench.py
--search-only`), so a million-post store takes minutes rather than hours. Then times
the newest-first listing overall, by category and by tag, each next to the raw statement on a
plain sqlite3 connection, interleaved so both see the same machine load. "ours" is the path
`/latest` takes (`Database.read` of `latest_views`: plain views with category and tags);
"ours_async_session" is `ArticleRepository.latest` in an async session (aiosqlite). Prints JSON.

  python bench/latest_bench.py --jsonl /tmp/synth-1m.jsonl --db /tmp/latest-1m.db
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import sqlite3
import sys
import time
from collections import Counter
from datetime import UTC
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

from common import percentiles

from bot.ingest.parser import ParseError, parse_post
from storage.db import Database
from storage.derive import MAX_INDEXED_BODY_CHARS
from storage.repository import ArticleRepository
from storage.tokenizer import SEQUENCE
from storage.views import latest_views

TZ = ZoneInfo("Asia/Shanghai")
RUNS = 300
LIMIT = 5

RAW_LATEST = (
    "SELECT id, key, title, published_at, summary, share_url FROM articles"
    " WHERE id = story_id{where} ORDER BY published_at DESC, id DESC LIMIT ? OFFSET ?"
)
RAW_CATEGORY = " AND category_id = (SELECT id FROM categories WHERE slug = ?)"
RAW_TAG_LATEST = (
    "SELECT a.id, a.key, a.title, a.published_at, a.summary, a.share_url FROM articles a"
    " JOIN article_tags t ON t.article_id = a.id"
    " WHERE a.id = a.story_id AND t.tag_id = (SELECT id FROM tags WHERE name = ?)"
    " ORDER BY t.published_at DESC, t.article_id DESC LIMIT ? OFFSET ?"
)


def load(jsonl: Path, db_path: Path, limit: int | None) -> dict[str, float]:
    started = time.perf_counter()
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    categories: dict[str, int] = {}
    tags: dict[str, int] = {}
    articles, links = [], []
    next_id = 1
    failed = 0

    def flush() -> None:
        conn.executemany(
            "INSERT INTO articles (id, key, title, published_at, category_id, source, digest,"
            " paragraphs, summary, summary_version, share_url, file, content_hash, story_id,"
            " created_at, updated_at) VALUES (?,?,?,?,?,?,NULL,?,?,0,?,?,?,?,?,?)",
            articles,
        )
        conn.executemany(
            "INSERT OR IGNORE INTO article_tags (article_id, tag_id, published_at)"
            " VALUES (?, ?, ?)",
            links,
        )
        articles.clear()
        links.clear()

    with jsonl.open(encoding="utf-8") as lines:
        for n, line in enumerate(lines):
            if limit is not None and n >= limit:
                break
            item = json.loads(line)
            try:
                post = parse_post(item["text"], item["name"], tz=TZ)
            except ParseError:
                failed += 1
                continue
            category_id = None
            if post.category:
                if post.category not in categories:
                    cur = conn.execute("INSERT INTO categories (slug) VALUES (?)", (post.category,))
                    categories[post.category] = int(cur.lastrowid or 0)
                category_id = categories[post.category]
            when = post.published_at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
            paragraphs = [[p.text, p.heading] for p in post.paragraphs]
            first = next((p.text for p in post.paragraphs if not p.heading), "")
            articles.append(
                (
                    next_id, f"{post.key}-{n}", post.title, when, category_id, post.source,
                    json.dumps(paragraphs, ensure_ascii=False), first[:120], post.share_url,
                    post.file, post.content_hash, next_id, when, when,
                )
            )  # fmt: skip
            for name in dict.fromkeys(post.tags):
                if name not in tags:
                    cur = conn.execute("INSERT INTO tags (name) VALUES (?)", (name,))
                    tags[name] = int(cur.lastrowid or 0)
                links.append((next_id, tags[name], when))
            next_id += 1
            if len(articles) >= 5000:
                flush()
    flush()
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()
    return {
        "loaded": next_id - 1,
        "parse_failures": failed,
        "load_seconds": round(time.perf_counter() - started, 1),
    }


def _tokens(row: tuple[int, str, str]) -> tuple[int, str, str]:
    article_id, title, paragraphs = row
    body = "\n".join(str(item[0]) for item in json.loads(paragraphs))[:MAX_INDEXED_BODY_CHARS]
    return article_id, " ".join(SEQUENCE.document(title)), " ".join(SEQUENCE.document(body))


def index(db_path: Path, processes: int) -> dict[str, float]:
    """Fill the FTS5 index of a loaded store with our tokenizer, on every core, so that
    `search_bench.py --search-only` can time searches on it."""
    started = time.perf_counter()
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA journal_mode=OFF")  # a bulk fill of a benchmark store, redone on failure
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-1000000")
    conn.execute("DELETE FROM article_fts")
    rows = conn.execute("SELECT id, title, paragraphs FROM articles ORDER BY id")
    insert = "INSERT INTO article_fts (rowid, title, body) VALUES (?, ?, ?)"
    done = 0
    with multiprocessing.Pool(processes) as pool:
        while chunk := rows.fetchmany(5000):
            conn.executemany(insert, pool.map(_tokens, chunk, chunksize=256))
            done += len(chunk)
    conn.commit()
    conn.close()
    return {"indexed": done, "index_seconds": round(time.perf_counter() - started, 1)}


def pick_filters(db_path: Path) -> dict[str, tuple[str | None, str | None]]:
    conn = sqlite3.connect(db_path)
    by_category = Counter(
        dict(
            conn.execute(
                "SELECT slug, count(*) FROM articles JOIN categories c ON c.id = category_id"
                " GROUP BY slug"
            ).fetchall()
        )
    )
    by_tag = Counter(
        dict(
            conn.execute(
                "SELECT name, count(*) FROM article_tags JOIN tags t ON t.id = tag_id GROUP BY name"
            ).fetchall()
        )
    )
    conn.close()
    common_category, rare_category = (
        by_category.most_common()[0][0],
        min(by_category, key=by_category.get),
    )  # type: ignore[arg-type]
    common_tag, rare_tag = by_tag.most_common()[0][0], min(by_tag, key=by_tag.get)  # type: ignore[arg-type]
    return {
        "all": (None, None),
        f"category {common_category} ({by_category[common_category]})": (common_category, None),
        f"category {rare_category} ({by_category[rare_category]})": (rare_category, None),
        f"tag {common_tag} ({by_tag[common_tag]})": (None, common_tag),
        f"tag {rare_tag} ({by_tag[rare_tag]})": (None, rare_tag),
    }


async def time_latest(db_path: Path, runs: int) -> dict[str, object]:
    db = Database(f"sqlite+aiosqlite:///{db_path}")
    raw = sqlite3.connect(db_path)
    results: dict[str, object] = {}
    ours_all: list[float] = []
    raw_all: list[float] = []
    for label, (category, tag) in pick_filters(db_path).items():
        statement = (
            RAW_TAG_LATEST if tag else RAW_LATEST.format(where=RAW_CATEGORY if category else "")
        )
        params = [p for p in (category, tag) if p]
        ours: list[float] = []
        in_session: list[float] = []
        theirs: list[float] = []
        for n in range(runs):
            offset = (n % 3) * 20
            t0 = time.perf_counter()
            got = await db.read(
                partial(latest_views, category=category, tag=tag, limit=LIMIT, offset=offset),
                short=True,
            )
            t1 = time.perf_counter()
            rows = raw.execute(statement, [*params, LIMIT, offset]).fetchall()
            t2 = time.perf_counter()
            async with db.session() as session:
                again = await ArticleRepository(session).latest(
                    category=category, tag=tag, limit=LIMIT, offset=offset
                )
            t3 = time.perf_counter()
            assert [a.id for a in got] == [r[0] for r in rows] == [a.id for a in again], label
            assert all(a.tags for a in got), label
            ours.append(t1 - t0)
            theirs.append(t2 - t1)
            in_session.append(t3 - t2)
        results[label] = {
            "ours": percentiles(ours),
            "raw_sql": percentiles(theirs),
            "ours_async_session": percentiles(in_session),
        }
        ours_all += ours
        raw_all += theirs
    raw.close()
    await db.dispose()
    results["overall"] = {"ours": percentiles(ours_all), "raw_sql": percentiles(raw_all)}
    return results


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jsonl", type=Path, required=True, help="synth_corpus.py --jsonl output")
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--posts", type=int, help="load at most this many posts")
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--skip-load", action="store_true", help="time the store a run left")
    parser.add_argument(
        "--index", action="store_true", help="also fill the search index (for search_bench)"
    )
    parser.add_argument("--processes", type=int, default=multiprocessing.cpu_count())
    args = parser.parse_args()
    report: dict[str, object] = {"backend": "sqlite"}
    if not args.skip_load:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{args.db}{suffix}").unlink(missing_ok=True)  # noqa: ASYNC240
        db = Database(f"sqlite+aiosqlite:///{args.db}")
        await db.upgrade()
        await db.dispose()
        report["load"] = load(args.jsonl, args.db, args.posts)
    if args.index:
        report["index"] = index(args.db, args.processes)
    report["store_mb"] = round(args.db.stat().st_size / 2**20, 1)
    report["latest"] = await time_latest(args.db, args.runs)
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

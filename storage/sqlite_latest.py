"""`storage.views.latest_views` in plain SQL on SQLite's own driver: what the bot's `/latest`
runs there, and all that `newsbot latest` imports, since SQLAlchemy's execution costs several
times SQLite's answer and importing it most of a short command's time. The statements are
those SQLAlchemy compiles for the ORM twin; `tests/storage/test_sqlite_latest.py` holds the
two to the same answers."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from storage.records import ArticleView

_COLUMNS = (
    "articles.id, articles.key, articles.title, articles.published_at, categories.slug AS "
    "category, articles.source, articles.summary, articles.summary_version, articles.digest, "
    "articles.share_url, articles.file, articles.content_hash, articles.story_id"
)
_CATEGORY = "(SELECT categories.id FROM categories WHERE categories.slug = :category)"
_TAG = "(SELECT tags.id FROM tags WHERE tags.name = :tag)"


def latest_sql(by_category: bool, by_tag: bool) -> str:
    """Newest first, one article per story (within the filter: `storage.views.shown`)."""
    joins, where, earlier = "", [], []
    if by_category:
        where.append(f"articles.category_id = {_CATEGORY}")
        earlier.append(f"earlier.category_id = {_CATEGORY}")
    if by_tag:
        joins = " JOIN article_tags ON article_tags.article_id = articles.id"
        where.append(f"article_tags.tag_id = {_TAG}")
        earlier.append(f"earlier_tags.tag_id = {_TAG}")
    if earlier:
        tagged = " JOIN article_tags AS earlier_tags ON earlier_tags.article_id = earlier.id"
        before = (
            f"SELECT earlier.id FROM articles AS earlier{tagged if by_tag else ''} WHERE "
            "earlier.story_id = articles.story_id AND earlier.id < articles.id AND "
            + " AND ".join(earlier)
        )
        where.append(f"(articles.id = articles.story_id OR NOT EXISTS ({before}))")
    else:
        where.append("articles.id = articles.story_id")
    order = "article_tags.published_at DESC, article_tags.article_id DESC"
    return (
        f"SELECT {_COLUMNS} FROM articles LEFT OUTER JOIN categories ON categories.id = "
        f"articles.category_id{joins} WHERE {' AND '.join(where)} ORDER BY "
        f"{order if by_tag else 'articles.published_at DESC, articles.id DESC'} "
        "LIMIT :limit OFFSET :offset"
    )


def latest_views(
    driver: sqlite3.Connection,
    *,
    category: str | None = None,
    tag: str | None = None,
    limit: int = 10,
    offset: int = 0,
) -> list[ArticleView]:
    params: dict[str, Any] = {"limit": limit, "offset": offset, "category": category, "tag": tag}
    cursor = driver.execute(latest_sql(bool(category), bool(tag)), params)
    keys = [column[0] for column in cursor.description]
    rows = [dict(zip(keys, values, strict=True)) for values in cursor]
    if not rows:
        return []
    ids = [row["id"] for row in rows]
    marks = ", ".join("?" * len(ids))
    tags: dict[int, list[str]] = {id_: [] for id_ in ids}
    for id_, name in driver.execute(
        "SELECT article_tags.article_id, tags.name FROM article_tags JOIN tags ON tags.id = "
        f"article_tags.tag_id WHERE article_tags.article_id IN ({marks}) "
        "ORDER BY article_tags.article_id, tags.id",
        ids,
    ):
        tags[id_].append(name)
    bare = [row["id"] for row in rows if not row["summary"] and not row["digest"]]
    bodies = dict(
        driver.execute(
            f"SELECT id, paragraphs FROM articles WHERE id IN ({', '.join('?' * len(bare))})",
            bare,
        )
        if bare
        else ()
    )
    for row in rows:
        row["published_at"] = datetime.fromisoformat(row["published_at"]).replace(tzinfo=UTC)
        row["tags"] = tuple(tags[row["id"]])
        row["paragraphs"] = json.loads(bodies.get(row["id"]) or "null") or []
    return [ArticleView(**row) for row in rows]


_REVISION_LINE = re.compile(r'^(down_revision|revision)\s*=\s*"([^"]*)"', re.MULTILINE)


def script_heads() -> list[str]:
    """The heads of the chain the migration scripts' `revision`/`down_revision` lines form,
    read without importing Alembic and every script."""
    revisions: dict[str, str] = {}
    for script in (Path(__file__).parent / "migrations" / "versions").glob("*.py"):
        found = dict(_REVISION_LINE.findall(script.read_text(encoding="utf-8")))
        if "revision" in found and "down_revision" in found:
            revisions[found["revision"]] = found["down_revision"]
    return list(set(revisions) - set(revisions.values()))


def open_current(url: str) -> sqlite3.Connection | None:
    """The SQLite file of `url`, read-only on the bare driver, if it is at the newest
    migration (the rule of `storage.db.head_revision` without its Alembic fallback); else
    None, and the caller takes the full path, which creates and upgrades."""
    scheme, _, path = url.partition(":///")
    if scheme not in ("sqlite", "sqlite+aiosqlite", "sqlite+pysqlite") or path in ("", ":memory:"):
        return None
    try:
        driver = sqlite3.connect(f"file:{quote(path, safe='/')}?mode=ro", uri=True)
        stored = [row[0] for row in driver.execute("SELECT version_num FROM alembic_version")]
    except sqlite3.Error:
        return None
    if stored == script_heads():
        return driver
    driver.close()
    return None

"""The read side of listings and search: articles as plain `ArticleView`s, newest first.

The statements are built once, with bound parameters: building a `select()` costs more Python
time than SQLite needs to answer it. On SQLite's own driver `latest_views` runs its plain-SQL
twin, `storage.sqlite_latest`.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import Select, bindparam, exists, or_, select
from sqlalchemy.orm import Session, aliased

from storage import sqlite_latest
from storage.models import Article, Category, Tag, article_tags
from storage.records import ArticleView

Row = Mapping[Any, Any]


def filtered(stmt: Select[Any], category: Any, tag: Any) -> Select[Any]:
    """Restricted to a category slug and a tag name (values or bound parameters), if given."""
    if category is not None:
        stmt = stmt.where(Article.category_id == _category_id(category))
    if tag is not None:
        stmt = stmt.join(article_tags, article_tags.c.article_id == Article.id).where(
            article_tags.c.tag_id == _tag_id(tag)
        )
    return stmt


def _category_id(category: Any) -> Any:
    return select(Category.id).where(Category.slug == category).scalar_subquery()


def _tag_id(tag: Any) -> Any:
    return select(Tag.id).where(Tag.name == tag).scalar_subquery()


def shown(stmt: Select[Any], category: Any = None, tag: Any = None) -> Select[Any]:
    """The one story rule of listings and their counts: `stmt` (over `Article`) restricted to
    the articles a list shows, one per story: with no filter, each story's first article;
    filtered by a category and/or tag, each story's first article *within the filter*, so a
    story shown elsewhere under another feed's copy still opens in this feed's list."""
    stmt = filtered(stmt, category, tag)
    if category is None and tag is None:
        return stmt.where(Article.id == Article.story_id)
    earlier = aliased(Article)
    before = select(earlier.id).where(earlier.story_id == Article.story_id, earlier.id < Article.id)
    if category is not None:
        before = before.where(earlier.category_id == _category_id(category))
    if tag is not None:
        tagged = article_tags.alias("earlier_tags")
        before = before.join(tagged, tagged.c.article_id == earlier.id).where(
            tagged.c.tag_id == _tag_id(tag)
        )
    return stmt.where(or_(Article.id == Article.story_id, ~exists(before)))


def first_in_story_with(column: Any, value: Any) -> Any:
    """The condition of `shown` per group, for counts by category or tag: no earlier article of
    the same story has `column` = `value` (`column` is `Article.category_id` or a tag id
    column of an alias of `article_tags` joined to the earlier article)."""
    earlier = aliased(Article)
    before = select(earlier.id).where(earlier.story_id == Article.story_id, earlier.id < Article.id)
    if column is Article.category_id:
        before = before.where(earlier.category_id == value)
    else:
        before = before.join(column.table, column.table.c.article_id == earlier.id).where(
            column == value
        )
    return or_(Article.id == Article.story_id, ~exists(before))


VIEW_COLUMNS = (
    Article.id,
    Article.key,
    Article.title,
    Article.published_at,
    Category.slug.label("category"),
    Article.source,
    Article.summary,
    Article.summary_version,
    Article.digest,
    Article.share_url,
    Article.file,
    Article.content_hash,
    Article.story_id,
)
"""Named as the fields of `ArticleView`, which a row of them (and its tags) makes."""


def _views(session: Session, rows: Sequence[Row], *, paragraphs: bool) -> list[ArticleView]:
    """Views of rows of `VIEW_COLUMNS` (plus `paragraphs` when `paragraphs`), in order, with
    their tags (and the paragraphs of those with neither summary nor digest)."""
    if not rows:
        return []
    ids = [row["id"] for row in rows]
    tags: dict[int, list[str]] = {id_: [] for id_ in ids}
    for row in _mappings(session, *_of_ids(_tags_of, ids)):
        tags[row["article_id"]].append(row["name"])
    bodies: dict[int, Any] = {}
    if paragraphs:
        bodies = {row["id"]: row["paragraphs"] for row in rows}
    else:
        bare = [row["id"] for row in rows if not row["summary"] and not row["digest"]]
        if bare:
            found = _mappings(session, *_of_ids(_paragraphs_of, bare))
            bodies = {row["id"]: row["paragraphs"] for row in found}
    return [
        ArticleView(
            **{**row, "tags": tuple(tags[row["id"]]), "paragraphs": bodies.get(row["id"]) or []}
        )
        for row in rows
    ]


def article_views(session: Session, ids: Sequence[int]) -> list[ArticleView]:
    """These articles with their paragraphs, in the order of `ids` (missing ones left out)."""
    rows = list(_mappings(session, *_of_ids(_views_of, list(ids))))
    order = {id_: place for place, id_ in enumerate(ids)}
    rows.sort(key=lambda row: order[row["id"]])
    return _views(session, rows, paragraphs=True)


def _mappings(session: Session, stmt: Select[Any], params: dict[str, Any]) -> Iterable[Row]:
    # on the connection: the session's ORM layer costs as much as the statement for columns
    return session.connection().execute(stmt, params).mappings()


def latest_views(
    session: Session,
    *,
    category: str | None = None,
    tag: str | None = None,
    limit: int = 10,
    offset: int = 0,
) -> list[ArticleView]:
    """Newest first, one article per story (what `/latest` lists)."""
    driver = session.connection().connection.dbapi_connection
    if isinstance(driver, sqlite3.Connection):
        return sqlite_latest.latest_views(
            driver, category=category, tag=tag, limit=limit, offset=offset
        )
    return orm_latest_views(session, category=category, tag=tag, limit=limit, offset=offset)


def orm_latest_views(
    session: Session, *, category: str | None, tag: str | None, limit: int, offset: int
) -> list[ArticleView]:
    # a statement without a filter ignores its parameter
    params = {"limit": limit, "offset": offset, "category": category, "tag": tag}
    rows = list(_mappings(session, _latest_statement(bool(category), bool(tag)), params))
    return _views(session, rows, paragraphs=False)


@cache
def _latest_statement(by_category: bool, by_tag: bool) -> Select[Any]:
    stmt: Select[Any] = select(*VIEW_COLUMNS)  # type: ignore[assignment]
    stmt = shown(
        stmt.outerjoin(Category, Category.id == Article.category_id),
        bindparam("category") if by_category else None,
        bindparam("tag") if by_tag else None,
    )
    if by_tag:
        # The same order, read off the (tag_id, published_at, article_id) index.
        order = (article_tags.c.published_at.desc(), article_tags.c.article_id.desc())
    else:
        order = (Article.published_at.desc(), Article.id.desc())
    return stmt.order_by(*order).limit(bindparam("limit")).offset(bindparam("offset"))


def other_sources(session: Session, articles: Sequence[ArticleView]) -> dict[int, tuple[str, ...]]:
    """For each article, the feeds (category slugs) of the other articles of its story: what a
    list or a search hit names after "另见"."""
    by_story = {a.story_id: a.id for a in articles if a.story_id is not None}
    if not by_story:
        return {}
    rows = session.connection().execute(*_of_ids(_story_members_of, list(by_story)))
    others: dict[int, list[str]] = defaultdict(list)
    for id_, story_id, feed, source, key in rows:
        shown = by_story[story_id or id_]
        name = feed or source or key
        if id_ != shown and name not in others[shown]:
            others[shown].append(name)
    return {id_: tuple(names) for id_, names in others.items()}


def _of_ids(
    statement: Callable[[int], Select[Any]], ids: Sequence[int]
) -> tuple[Select[Any], dict[str, Any]]:
    """`statement` for this many ids, with its parameters: one bound parameter per id, as
    plain SQL takes them (the statements are cached per count; pages are short)."""
    return statement(len(ids)), {f"id_{place}": id_ for place, id_ in enumerate(ids)}


def _ids(count: int) -> list[Any]:
    return [bindparam(f"id_{place}") for place in range(count)]


@lru_cache(maxsize=128)
def _views_of(count: int) -> Select[Any]:
    stmt: Select[Any] = select(*VIEW_COLUMNS, Article.paragraphs)  # type: ignore[assignment]
    return stmt.outerjoin(Category, Category.id == Article.category_id).where(
        Article.id.in_(_ids(count))
    )


@lru_cache(maxsize=128)
def _tags_of(count: int) -> Select[Any]:
    return (
        select(article_tags.c.article_id, Tag.name)
        .join(Tag, Tag.id == article_tags.c.tag_id)
        .where(article_tags.c.article_id.in_(_ids(count)))
        .order_by(article_tags.c.article_id, Tag.id)
    )


@lru_cache(maxsize=128)
def _story_members_of(count: int) -> Select[Any]:
    stmt: Select[Any] = select(  # type: ignore[assignment]
        Article.id, Article.story_id, Category.slug, Article.source, Article.key
    )
    return (
        stmt.outerjoin(Category, Category.id == Article.category_id)
        .where(Article.story_id.in_(_ids(count)))
        .order_by(Article.id)
    )


@lru_cache(maxsize=128)
def _paragraphs_of(count: int) -> Select[Any]:
    return select(Article.id, Article.paragraphs).where(Article.id.in_(_ids(count)))

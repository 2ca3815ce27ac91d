"""The read side of listings and search: articles as plain `ArticleView`s, newest first.

The statements are built once, with bound parameters: building a `select()` costs more Python
time than SQLite needs to answer it.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from storage.models import Article, Category, Tag, article_tags
from storage.records import ArticleView


def filtered(stmt: Select[Any], category: Any, tag: Any) -> Select[Any]:
    """Restricted to a category slug and a tag name (values or bound parameters), if given."""
    if category is not None:
        stmt = stmt.where(
            Article.category_id
            == select(Category.id).where(Category.slug == category).scalar_subquery()
        )
    if tag is not None:
        stmt = stmt.join(article_tags, article_tags.c.article_id == Article.id).where(
            article_tags.c.tag_id == select(Tag.id).where(Tag.name == tag).scalar_subquery()
        )
    return stmt


_VIEW_COLUMNS = (
    Article.id,
    Article.key,
    Article.title,
    Article.published_at,
    Category.slug,
    Article.source,
    Article.summary,
    Article.digest,
    Article.share_url,
    Article.file,
    Article.story_id,
)


def _views(session: Session, rows: Sequence[Any], *, paragraphs: bool) -> list[ArticleView]:
    """Views of rows of `_VIEW_COLUMNS` (plus `Article.paragraphs` when `paragraphs`), in order,
    with their tags (and the paragraphs of those with neither summary nor digest)."""
    if not rows:
        return []
    ids = [row.id for row in rows]
    tags: dict[int, list[str]] = {id_: [] for id_ in ids}
    for article_id, name in session.execute(_TAGS_OF, {"ids": ids}):
        tags[article_id].append(name)
    bodies: dict[int, list[Any]] = {}
    if paragraphs:
        bodies = {row.id: row.paragraphs or [] for row in rows}
    else:
        bare = [row.id for row in rows if not row.summary and not row.digest]
        if bare:
            found = session.execute(_PARAGRAPHS_OF, {"ids": bare})
            bodies = {id_: body for id_, body in found}
    return [
        ArticleView(
            id=row.id,
            key=row.key,
            title=row.title,
            published_at=row.published_at,
            category_slug=row.slug,
            tag_names=tags[row.id],
            source=row.source,
            summary=row.summary,
            digest=row.digest,
            share_url=row.share_url,
            file=row.file,
            story_id=row.story_id,
            paragraphs=bodies.get(row.id) or [],
        )
        for row in rows
    ]


def article_views(session: Session, ids: Sequence[int]) -> list[ArticleView]:
    """These articles with their paragraphs, in the order of `ids` (missing ones left out)."""
    rows: list[Any] = list(session.execute(_VIEWS_OF, {"ids": list(ids)}))
    order = {id_: place for place, id_ in enumerate(ids)}
    return _views(session, sorted(rows, key=lambda row: order[row.id]), paragraphs=True)


def latest_views(
    session: Session,
    *,
    category: str | None = None,
    tag: str | None = None,
    limit: int = 10,
    offset: int = 0,
) -> list[ArticleView]:
    """Newest first, one article per story (what `/latest` lists)."""
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    if category:
        params["category"] = category
    if tag:
        params["tag"] = tag
    rows = session.execute(_latest_statement(bool(category), bool(tag)), params).all()
    return _views(session, rows, paragraphs=False)


@cache
def _latest_statement(by_category: bool, by_tag: bool) -> Select[Any]:
    stmt: Select[Any] = select(*_VIEW_COLUMNS)  # type: ignore[assignment]
    stmt = filtered(
        stmt.outerjoin(Category, Category.id == Article.category_id).where(
            Article.id == Article.story_id
        ),
        bindparam("category") if by_category else None,
        bindparam("tag") if by_tag else None,
    )
    order = newest_first(by_tag)
    return stmt.order_by(*order).limit(bindparam("limit")).offset(bindparam("offset"))


def newest_first(by_tag: object) -> tuple[Any, ...]:
    if by_tag:
        # The same order, read off the (tag_id, published_at, article_id) index.
        return (article_tags.c.published_at.desc(), article_tags.c.article_id.desc())
    return (Article.published_at.desc(), Article.id.desc())


_VIEWS_OF = (
    select(*_VIEW_COLUMNS, Article.paragraphs)
    .outerjoin(Category, Category.id == Article.category_id)
    .where(Article.id.in_(bindparam("ids", expanding=True)))
)
_TAGS_OF = (
    select(article_tags.c.article_id, Tag.name)
    .join(Tag, Tag.id == article_tags.c.tag_id)
    .where(article_tags.c.article_id.in_(bindparam("ids", expanding=True)))
    .order_by(article_tags.c.article_id, Tag.id)
)
_PARAGRAPHS_OF = select(Article.id, Article.paragraphs).where(
    Article.id.in_(bindparam("ids", expanding=True))
)

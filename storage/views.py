"""The read side of listings and search: articles as plain `ArticleView`s, newest first."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from storage.models import Article, Category, Tag, article_tags
from storage.records import ArticleView


def filtered(stmt: Select[Any], category: str | None, tag: str | None) -> Select[Any]:
    if category:
        stmt = stmt.where(
            Article.category_id
            == select(Category.id).where(Category.slug == category).scalar_subquery()
        )
    if tag:
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
    for article_id, name in session.execute(
        select(article_tags.c.article_id, Tag.name)
        .join(Tag, Tag.id == article_tags.c.tag_id)
        .where(article_tags.c.article_id.in_(ids))
        .order_by(article_tags.c.article_id, Tag.id)
    ):
        tags[article_id].append(name)
    bodies: dict[int, list[Any]] = {}
    if paragraphs:
        bodies = {row.id: row.paragraphs or [] for row in rows}
    else:
        bare = [row.id for row in rows if not row.summary and not row.digest]
        if bare:
            found = session.execute(
                select(Article.id, Article.paragraphs).where(Article.id.in_(bare))
            )
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
    rows: list[Any] = list(
        session.execute(
            select(*_VIEW_COLUMNS, Article.paragraphs)
            .outerjoin(Category, Category.id == Article.category_id)
            .where(Article.id.in_(list(ids)))
        )
    )
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
    """`latest_articles` as views (for `Database.read`: what `/latest` lists)."""
    columns: Select[Any] = select(*_VIEW_COLUMNS)  # type: ignore[assignment]
    stmt = filtered(
        columns.outerjoin(Category, Category.id == Article.category_id).where(
            Article.id == Article.story_id
        ),
        category,
        tag,
    )
    rows = session.execute(stmt.order_by(*newest_first(tag)).limit(limit).offset(offset)).all()
    return _views(session, rows, paragraphs=False)


def newest_first(tag: str | None) -> tuple[Any, ...]:
    if tag:
        # The same order, read off the (tag_id, published_at, article_id) index.
        return (article_tags.c.published_at.desc(), article_tags.c.article_id.desc())
    return (Article.published_at.desc(), Article.id.desc())

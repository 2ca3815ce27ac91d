"""Queries and writes on stored articles; the one place that knows the article tables."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Select, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from storage.dedup import assign_stories
from storage.models import Article, Category, IngestRun, MetaEntry, Tag, article_tags
from storage.records import ArticleRecord
from storage.search import index_articles

UpsertStatus = Literal["added", "updated", "unchanged"]


@dataclass(frozen=True, slots=True)
class UpsertOutcome:
    key: str
    status: UpsertStatus
    article: Article


@dataclass(frozen=True, slots=True)
class StoreStats:
    articles: int
    stories: int
    categories: int
    tags: int
    newest: datetime | None
    last_ingest: IngestRun | None


class ArticleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._categories: dict[str, Category] = {}
        self._tags: dict[str, Tag] = {}

    async def upsert_many(self, records: Sequence[ArticleRecord]) -> list[UpsertOutcome]:
        """Insert new keys, update changed ones in place (by content hash), skip the rest.

        A version dated before the stored one is a stale copy (the corpus has such pairs
        under one article id) and is left alone, so re-ingesting both always converges.
        """
        keys = list(dict.fromkeys(record.key for record in records))
        existing = {
            article.key: article
            for article in (
                await self.session.scalars(select(Article).where(Article.key.in_(keys)))
            )
        }
        await self._load_names(records)
        outcomes: list[UpsertOutcome] = []
        fresh: list[Article] = []
        tags_of: dict[int, tuple[Article, tuple[str, ...]]] = {}
        for record in records:
            article = existing.get(record.key)
            if article is not None and (
                article.content_hash == record.content_hash
                or record.published_at < article.published_at
            ):
                outcomes.append(UpsertOutcome(record.key, "unchanged", article))
                continue
            status: UpsertStatus = "updated" if article is not None else "added"
            if article is None:
                article = existing[record.key] = Article(key=record.key)
                self.session.add(article)
                fresh.append(article)
            self._fill(article, record)
            tags_of[id(article)] = (article, tuple(dict.fromkeys(record.tags)))
            outcomes.append(UpsertOutcome(record.key, status, article))
        await self.session.flush()
        for article in fresh:
            if article.story_id is None:
                article.story_id = article.id
        await self.session.flush()
        changed = list(
            {o.article.id: o.article for o in outcomes if o.status != "unchanged"}.values()
        )
        await self._link_tags(list(tags_of.values()))
        await assign_stories(self.session, changed)
        await index_articles(self.session, changed)
        return outcomes

    async def _link_tags(self, tagged: Sequence[tuple[Article, tuple[str, ...]]]) -> None:
        """Rewrite the tag links of changed articles, each carrying the article's date."""
        if not tagged:
            return
        ids = [article.id for article, _ in tagged]
        await self.session.execute(delete(article_tags).where(article_tags.c.article_id.in_(ids)))
        links = [
            {
                "article_id": article.id,
                "tag_id": self._tags[name].id,
                "published_at": article.published_at,
            }
            for article, names in tagged
            for name in names
        ]
        if links:
            await self.session.execute(insert(article_tags), links)
        for article, names in tagged:
            set_committed_value(article, "tags", [self._tags[name] for name in names])

    def _fill(self, article: Article, record: ArticleRecord) -> None:
        article.title = record.title
        article.published_at = record.published_at
        article.category = self._categories[record.category] if record.category else None
        article.source = record.source
        article.digest = record.digest
        article.paragraphs = [[text, heading] for text, heading in record.paragraphs]
        article.summary = record.summary
        article.summary_version = record.summary_version
        article.share_url = record.share_url
        article.file = record.file
        article.content_hash = record.content_hash

    async def _load_names(self, records: Iterable[ArticleRecord]) -> None:
        """Get or create the categories and tags the records name, once per batch."""
        records = list(records)
        slugs = {r.category for r in records if r.category} - set(self._categories)
        names = {t for r in records for t in r.tags} - set(self._tags)
        if slugs:
            for category in await self.session.scalars(
                select(Category).where(Category.slug.in_(slugs))
            ):
                self._categories[category.slug] = category
            for slug in sorted(slugs - set(self._categories)):
                self._categories[slug] = Category(slug=slug)
                self.session.add(self._categories[slug])
        if names:
            for tag in await self.session.scalars(select(Tag).where(Tag.name.in_(names))):
                self._tags[tag.name] = tag
            for name in sorted(names - set(self._tags)):
                self._tags[name] = Tag(name=name)
                self.session.add(self._tags[name])

    async def get(self, key: str) -> Article | None:
        return await self.session.scalar(select(Article).where(Article.key == key))

    async def get_many(self, ids: Sequence[int]) -> list[Article]:
        rows = await self.session.scalars(select(Article).where(Article.id.in_(list(ids))))
        order = {id_: i for i, id_ in enumerate(ids)}
        return sorted(rows, key=lambda a: order[a.id])

    def _filtered(
        self, stmt: Select[Article], category: str | None, tag: str | None
    ) -> Select[Article]:
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

    async def latest(
        self,
        *,
        category: str | None = None,
        tag: str | None = None,
        limit: int = 10,
        offset: int = 0,
    ) -> list[Article]:
        """Newest first, one article per story."""
        stmt = self._filtered(select(Article).where(Article.id == Article.story_id), category, tag)
        if tag:
            # The same order, read off the (tag_id, published_at, article_id) index.
            order = (article_tags.c.published_at.desc(), article_tags.c.article_id.desc())
        else:
            order = (Article.published_at.desc(), Article.id.desc())
        stmt = stmt.order_by(*order).limit(limit).offset(offset)
        return list(await self.session.scalars(stmt))

    async def count(self, *, category: str | None = None, tag: str | None = None) -> int:
        stmt = self._filtered(select(Article).where(Article.id == Article.story_id), category, tag)
        return int(
            await self.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        )

    async def category_exists(self, slug: str) -> bool:
        return (
            await self.session.scalar(select(Category.id).where(Category.slug == slug)) is not None
        )

    async def story_siblings(self, article: Article) -> list[Article]:
        """The other articles of the same story (the same news from other feeds)."""
        if article.story_id is None:
            return []
        stmt = select(Article).where(Article.story_id == article.story_id, Article.id != article.id)
        return list(await self.session.scalars(stmt.order_by(Article.id)))

    async def category_counts(self) -> list[tuple[str, int]]:
        stmt = (
            select(Category.slug, func.count(Article.id))
            .join(Article, Article.category_id == Category.id)
            .group_by(Category.slug)
            .order_by(func.count(Article.id).desc(), Category.slug)
        )
        return [(slug, int(n)) for slug, n in await self.session.execute(stmt)]

    async def tag_counts(self, limit: int | None = None) -> list[tuple[str, int]]:
        stmt = (
            select(Tag.name, func.count(article_tags.c.article_id))
            .join(article_tags, article_tags.c.tag_id == Tag.id)
            .group_by(Tag.name)
            .order_by(func.count(article_tags.c.article_id).desc(), Tag.name)
        )
        if limit:
            stmt = stmt.limit(limit)
        return [(name, int(n)) for name, n in await self.session.execute(stmt)]

    async def stats(self) -> StoreStats:
        articles = await self.session.scalar(select(func.count(Article.id)))
        stories = await self.session.scalar(
            select(func.count(Article.id)).where(Article.id == Article.story_id)
        )
        categories = await self.session.scalar(select(func.count(Category.id)))
        tags = await self.session.scalar(select(func.count(Tag.id)))
        newest = await self.session.scalar(select(func.max(Article.published_at)))
        last = await self.session.scalar(select(IngestRun).order_by(IngestRun.id.desc()).limit(1))
        return StoreStats(
            articles=int(articles or 0),
            stories=int(stories or 0),
            categories=int(categories or 0),
            tags=int(tags or 0),
            newest=newest,
            last_ingest=last,
        )

    async def lead_texts(self, limit: int, paragraphs: int = 3) -> list[str]:
        """Title and opening paragraphs of the newest articles: a sample of how the store writes."""
        stmt = (
            select(Article.title, Article.paragraphs)
            .order_by(Article.published_at.desc(), Article.id.desc())
            .limit(limit)
        )
        return [
            "\n".join([title, *(text for text, _ in body[:paragraphs])])
            for title, body in await self.session.execute(stmt)
        ]

    async def mark_summaries_outdated(self) -> None:
        await self.session.execute(update(Article).values(summary_version=0))

    async def outdated_summaries(self, version: int, limit: int = 500) -> list[Article]:
        stmt = (
            select(Article)
            .where(Article.summary_version < version)
            .order_by(Article.id)
            .limit(limit)
        )
        return list(await self.session.scalars(stmt))


class MetaRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, name: str) -> str | None:
        entry = await self.session.get(MetaEntry, name)
        return entry.value if entry else None

    async def set(self, name: str, value: str) -> None:
        entry = await self.session.get(MetaEntry, name)
        if entry is None:
            self.session.add(MetaEntry(name=name, value=value))
        else:
            entry.value = value

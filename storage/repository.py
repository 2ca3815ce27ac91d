"""Queries and writes on stored articles; the one place that knows the article tables."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, cast

from sqlalchemy import Table, bindparam, delete, func, insert, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from storage import pg_bulk
from storage.dates import BadDate, date_problem
from storage.derive import derived_of
from storage.models import Article, Category, IngestRun, Tag, article_bands, article_tags, utcnow
from storage.records import ArticleRecord, ArticleView, Derived
from storage.search import (
    IndexRow,
    _record_tokenizer,
    backend_for,
    keep_scored_texts,
    write_index,
)
from storage.stories import StoryCandidate, assign_stories, band_rows, place_in_stories
from storage.trending import NewStory, add_stories
from storage.views import article_views, first_in_story_with, latest_views, shown

UpsertStatus = Literal["added", "updated", "unchanged"]


@dataclass(frozen=True, slots=True)
class UpsertOutcome:
    key: str
    status: UpsertStatus
    article_id: int


@dataclass(frozen=True, slots=True)
class StoreStats:
    articles: int
    stories: int
    categories: int
    tags: int
    newest: datetime | None
    last_ingest: IngestRun | None


@dataclass(slots=True)
class _Pending:
    """A record to write: `article_id` is None until a new article is inserted."""

    record: ArticleRecord
    derived: Derived
    article_id: int | None
    story_id: int | None = None


# SQLite's page cache while it writes a batch (KiB): its default 2 MB spilled a batch's dirty
# pages to the WAL mid-transaction and read them back (at 20k posts, 3.8 GB read for a 330 MB
# store). Set back to what it was after the batch, so a pooled connection keeps no more.
WRITE_CACHE_KIB = 65536
ARTICLES = cast(Table, Article.__table__)
CATEGORIES = cast(Table, Category.__table__)
TAGS = cast(Table, Tag.__table__)
_UPDATE_BY_ID = update(ARTICLES).where(ARTICLES.c.id == bindparam("b_id"))


def _story_candidates(pending: Sequence[_Pending]) -> list[StoryCandidate]:
    return [
        StoryCandidate(p.article_id or 0, p.derived.fingerprint, p.story_id, not p.story_id)
        for p in pending
    ]


class ArticleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._category_ids: dict[str, int] = {}
        self._tag_ids: dict[str, int] = {}

    async def published_and_tags(
        self, keys: Sequence[str]
    ) -> dict[str, tuple[datetime, tuple[str, ...], str | None]]:
        """The stored publication time, tags and source of each of `keys` that is stored."""
        if not keys:
            return {}
        articles = await self.session.scalars(
            select(Article).where(Article.key.in_(list(set(keys))))
        )
        return {a.key: (a.published_at, tuple(a.tag_names), a.source) for a in articles}

    async def upsert_many(self, records: Sequence[ArticleRecord]) -> list[UpsertOutcome]:
        """Insert new keys, update changed ones in place (by content hash), skip the rest.

        A version dated before the stored one is a stale copy (the corpus has such pairs
        under one article id) and is left alone, so re-ingesting both always converges.
        Written with bulk statements, not the ORM's unit of work: this is the ingest's hot path.
        A date outside `storage.dates`' range raises `BadDate` before anything is written.
        """
        for record in records:
            problem = date_problem(record.published_at)
            if problem:
                raise BadDate(f"{record.key}: {problem}")
        keys = list(dict.fromkeys(record.key for record in records))
        stored = {
            row.key: row
            for row in await self.session.execute(
                select(
                    Article.id,
                    Article.key,
                    Article.content_hash,
                    Article.published_at,
                    Article.story_id,
                ).where(Article.key.in_(keys))
            )
        }
        current: dict[str, tuple[str, datetime]] = {
            key: (row.content_hash, row.published_at) for key, row in stored.items()
        }
        pending: dict[str, _Pending] = {}
        scheme = backend_for(self.session).scheme
        statuses: list[tuple[str, UpsertStatus]] = []
        for record in records:
            seen = current.get(record.key)
            if seen is not None and (
                seen[0] == record.content_hash or record.published_at < seen[1]
            ):
                statuses.append((record.key, "unchanged"))
                continue
            row = stored.get(record.key)
            statuses.append((record.key, "updated" if seen is not None else "added"))
            current[record.key] = (record.content_hash, record.published_at)
            pending[record.key] = _Pending(
                record,
                derived_of(record, scheme),
                row.id if row else None,
                row.story_id if row else None,
            )
        if pending:
            await self._write(list(pending.values()))
        ids = {key: row.id for key, row in stored.items()}
        ids.update({key: p.article_id for key, p in pending.items() if p.article_id})
        return [UpsertOutcome(key, status, ids[key]) for key, status in statuses]

    async def _write(self, pending: list[_Pending]) -> None:
        await self._load_names([p.record for p in pending])
        if self.session.get_bind().dialect.name == "postgresql":
            await self._write_by_copy(pending)
        else:
            await self._write_on_sqlite(pending)
        keep_scored_texts(
            backend_for(self.session).scheme,
            [
                (p.article_id, p.record.content_hash, p.derived.scored)
                for p in pending
                if p.article_id is not None and p.derived.scored is not None
            ],
        )

    async def _write_on_sqlite(self, pending: list[_Pending]) -> None:
        cache = await self.session.scalar(text("PRAGMA cache_size"))
        restore = text(f"PRAGMA cache_size = {int(cache)}")
        await self.session.execute(text(f"PRAGMA cache_size = -{WRITE_CACHE_KIB}"))
        try:
            await self._write_sqlite(pending)
        except BaseException:
            with suppress(SQLAlchemyError):  # a connection that no longer answers is dropped
                await self.session.execute(restore)
            raise
        # before the commit: its dirty pages stay cached until it has written them
        await self.session.execute(restore)

    async def _write_sqlite(self, pending: list[_Pending]) -> None:
        new = [p for p in pending if p.article_id is None]
        old = [p for p in pending if p.article_id is not None]
        if new:
            # Plain executemany, then the ids by key: SQLite runs an INSERT … RETURNING that
            # must keep parameter order one row at a time.
            await self.session.execute(insert(ARTICLES), [self._values(p) for p in new])
            inserted = await self.session.execute(
                select(ARTICLES.c.key, ARTICLES.c.id).where(
                    ARTICLES.c.key.in_([p.record.key for p in new])
                )
            )
            ids = {key: id_ for key, id_ in inserted}
            for p in new:
                p.article_id = ids[p.record.key]
        if old:
            await self.session.execute(
                _UPDATE_BY_ID, [{"b_id": p.article_id, **self._values(p)} for p in old]
            )
        stories = await place_in_stories(self.session, _story_candidates(pending))
        placed = [p for p in pending if stories[p.article_id or 0] != p.story_id]
        if placed:
            await self.session.execute(
                _UPDATE_BY_ID,
                [{"b_id": p.article_id, "story_id": stories[p.article_id or 0]} for p in placed],
            )
        await self._count_new_stories(pending, stories)
        if old:
            linked = [p.article_id for p in pending]
            await self.session.execute(
                delete(article_tags).where(article_tags.c.article_id.in_(linked))
            )
        links = self._tag_links(pending)
        if links:
            await self.session.execute(insert(article_tags), links)
        rows = [
            IndexRow(p.article_id or 0, p.derived.index_title, p.derived.index_body)
            for p in pending
        ]
        await write_index(self.session, rows, new=not old)

    async def _write_by_copy(self, pending: list[_Pending]) -> None:
        """PostgreSQL: ids first (from the sequence), stories placed before anything is written,
        then every table by COPY (`storage.pg_bulk`): each row goes in once, complete."""
        stored = [p.article_id for p in pending if p.article_id is not None]
        new = [p for p in pending if p.article_id is None]
        for p, id_ in zip(new, await pg_bulk.new_article_ids(self.session, len(new)), strict=True):
            p.article_id = id_
        candidates = _story_candidates(pending)
        stories = await assign_stories(self.session, candidates)
        now = utcnow()
        await pg_bulk.upsert_articles(
            self.session,
            [
                {
                    **self._values(p),
                    "id": p.article_id,
                    "story_id": stories[p.article_id or 0],
                    "created_at": now,
                    "updated_at": now,
                }
                for p in pending
            ],
        )
        await pg_bulk.copy_rows(self.session, article_bands, band_rows(candidates))
        await self._count_new_stories(pending, stories)
        if stored:
            await self.session.execute(
                delete(article_tags).where(article_tags.c.article_id.in_(stored))
            )
        await pg_bulk.copy_rows(self.session, article_tags, self._tag_links(pending))
        await pg_bulk.upsert_index(
            self.session,
            [(p.article_id or 0, p.derived.index_title, p.derived.index_body) for p in pending],
        )
        await _record_tokenizer(self.session)

    async def _count_new_stories(self, pending: list[_Pending], stories: dict[int, int]) -> None:
        """Trending counts a term once per story: only articles that start a story count."""
        await add_stories(
            self.session,
            [
                NewStory(p.record.published_at, p.record.source, p.derived.terms)
                for p in pending
                if p.story_id is None and stories[p.article_id or 0] == p.article_id
            ],
        )

    def _values(self, p: _Pending) -> dict[str, object]:
        record = p.record
        return {
            "key": record.key,
            "title": record.title,
            "published_at": record.published_at,
            "category_id": self._category_ids[record.category] if record.category else None,
            "source": record.source,
            "digest": record.digest,
            "paragraphs": [[text, heading] for text, heading in record.paragraphs],
            "summary": record.summary,
            "summary_version": record.summary_version,
            "share_url": record.share_url,
            "file": record.file,
            "content_hash": record.content_hash,
            "fingerprint": p.derived.fingerprint,
        }

    def _tag_links(self, pending: Sequence[_Pending]) -> list[dict[str, object]]:
        """The tag links of these articles, each carrying the article's date."""
        return [
            {
                "article_id": p.article_id,
                "tag_id": self._tag_ids[name],
                "published_at": p.record.published_at,
            }
            for p in pending
            for name in dict.fromkeys(p.record.tags)
        ]

    async def _load_names(self, records: Sequence[ArticleRecord]) -> None:
        """Get or create the categories and tags the records name, once per batch."""
        slugs = {r.category for r in records if r.category} - set(self._category_ids)
        names = {t for r in records for t in r.tags} - set(self._tag_ids)
        if slugs:
            await self._get_or_create(CATEGORIES, "slug", slugs, self._category_ids)
        if names:
            await self._get_or_create(TAGS, "name", names, self._tag_ids)

    async def _get_or_create(
        self, table: Table, column: str, wanted: set[str], ids: dict[str, int]
    ) -> None:
        names = sorted(wanted)
        found = await self.session.execute(
            select(table.c[column], table.c.id).where(table.c[column].in_(names))
        )
        ids.update({name: id_ for name, id_ in found})
        missing = [name for name in names if name not in ids]
        if missing:
            await self.session.execute(insert(table), [{column: name} for name in missing])
            created = await self.session.execute(
                select(table.c[column], table.c.id).where(table.c[column].in_(missing))
            )
            ids.update({name: id_ for name, id_ in created})

    async def defer_search_index(self) -> bool:
        """Before a large load: on PostgreSQL with nothing indexed yet, drop the GIN indexes
        for `Database.build_search_index` to build from all the rows at once (see
        `storage.pg_bulk`). SQLite's FTS5 index has nothing to defer. Returns whether anything
        was deferred."""
        if self.session.get_bind().dialect.name != "postgresql":
            return False
        return await pg_bulk.defer_search_indexes(self.session)

    async def merge_search_index(self) -> None:
        """Merge what was written into the search index proper, on PostgreSQL (see
        `pg_bulk.clean_pending_lists`); SQLite's FTS5 merges as it goes."""
        if self.session.get_bind().dialect.name == "postgresql":
            await pg_bulk.clean_pending_lists(self.session)

    async def analyze_if_grown(self, added: int) -> None:
        """Table statistics after a large load, on PostgreSQL (`pg_bulk.analyze_if_grown`)."""
        if self.session.get_bind().dialect.name == "postgresql":
            await pg_bulk.analyze_if_grown(self.session, added)

    async def get(self, key: str) -> Article | None:
        return await self.session.scalar(select(Article).where(Article.key == key))

    async def latest(
        self,
        *,
        category: str | None = None,
        tag: str | None = None,
        limit: int = 10,
        offset: int = 0,
    ) -> list[ArticleView]:
        """Newest first, one article per story: `latest_views` in this session."""
        return await self.session.run_sync(
            latest_views, category=category, tag=tag, limit=limit, offset=offset
        )

    async def count(self, *, category: str | None = None, tag: str | None = None) -> int:
        stmt = shown(select(Article.id), category or None, tag or None)
        return int(
            await self.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        )

    async def article_count(self) -> int:
        """Every stored article, each story's siblings included (the metrics gauge)."""
        return int(await self.session.scalar(select(func.count(Article.id))) or 0)

    async def category_exists(self, slug: str) -> bool:
        return (
            await self.session.scalar(select(Category.id).where(Category.slug == slug)) is not None
        )

    async def tag_used(self, name: str) -> bool:
        """Whether an article has this tag: what `count(tag=)` tells when it is not 0, without
        counting a tag of a whole feed (58,000 stories at 100k posts)."""
        used = select(article_tags.c.article_id).join(Tag, Tag.id == article_tags.c.tag_id)
        return await self.session.scalar(used.where(Tag.name == name).limit(1)) is not None

    async def view(self, key: str) -> ArticleView | None:
        """The article with this key, as listings and search read it (with its paragraphs)."""
        found = await self.session.scalar(select(Article.id).where(Article.key == key))
        if found is None:
            return None
        [view] = await self.session.run_sync(article_views, [found])
        return view

    async def story_siblings(self, article: ArticleView) -> list[Article]:
        """The other articles of the same story (the same news from other feeds)."""
        if article.story_id is None:
            return []
        stmt = select(Article).where(Article.story_id == article.story_id, Article.id != article.id)
        return list(await self.session.scalars(stmt.order_by(Article.id)))

    async def category_counts(self) -> list[tuple[str, int]]:
        """Stories per category, by the rule of `shown`: what `/category` lists."""
        stmt = (
            select(Category.slug, func.count(Article.id))
            .join(Article, Article.category_id == Category.id)
            .where(first_in_story_with(Article.category_id, Article.category_id))
            .group_by(Category.slug)
            .order_by(func.count(Article.id).desc(), Category.slug)
        )
        return [(slug, int(n)) for slug, n in await self.session.execute(stmt)]

    async def tag_counts(self, limit: int | None = None) -> list[tuple[str, int]]:
        """Stories per tag, by the rule of `shown`: what `/tag` lists."""
        earlier_tags = article_tags.alias("earlier_tags")
        stmt = (
            select(Tag.name, func.count(article_tags.c.article_id))
            .join(article_tags, article_tags.c.tag_id == Tag.id)
            .join(Article, Article.id == article_tags.c.article_id)
            .where(first_in_story_with(earlier_tags.c.tag_id, article_tags.c.tag_id))
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


def lead_texts(session: Session, limit: int, paragraphs: int = 3) -> list[str]:
    """Title and opening paragraphs of the newest articles: a sample of how the store writes.
    A `Database.read` query (on SQLite it runs off the event loop)."""
    stmt = (
        select(Article.title, Article.paragraphs)
        .order_by(Article.published_at.desc(), Article.id.desc())
        .limit(limit)
    )
    return [
        "\n".join([title, *(text for text, _ in body[:paragraphs])])
        for title, body in session.execute(stmt)
    ]

"""The relational schema: articles with their categories and tags, and ingest bookkeeping."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql import column, table

# Re-exported: the migrations and older callers name them here.
from storage.base import Base as Base
from storage.base import UTCDateTime as UTCDateTime
from storage.base import utcnow as utcnow

article_bands = table(
    "article_bands", column("band"), column("value"), column("article_id"), column("fingerprint")
)
"""The near-duplicate bands of `storage.dedup`, written and read with plain statements."""

article_tags = Table(
    "article_tags",
    Base.metadata,
    Column("article_id", ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
    # The article's date again, so a tag's newest articles come straight off one index
    # instead of sorting every article the tag has.
    Column("published_at", UTCDateTime()),
    Index("ix_article_tags_tag_published", "tag_id", "published_at", "article_id"),
)


class Category(Base):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(200), unique=True)


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)


class Article(Base):
    __tablename__ = "articles"
    __table_args__ = (
        Index("ix_articles_published", "published_at", "id"),
        Index("ix_articles_category_published", "category_id", "published_at", "id"),
        Index("ix_articles_story", "story_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime]
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    source: Mapped[str | None] = mapped_column(String(200))
    digest: Mapped[str | None] = mapped_column(Text)
    paragraphs: Mapped[list[Any]] = mapped_column(JSON)
    summary: Mapped[str] = mapped_column(Text, default="")
    summary_version: Mapped[int] = mapped_column(Integer, default=0)
    share_url: Mapped[str | None] = mapped_column(Text)
    file: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    story_id: Mapped[int | None] = mapped_column(BigInteger)
    fingerprint: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    category: Mapped[Category | None] = relationship(lazy="joined")
    tags: Mapped[list[Tag]] = relationship(secondary=article_tags, lazy="selectin", viewonly=True)
    """Read-only: `ArticleRepository` writes the links, with the article's date."""

    @property
    def tag_names(self) -> list[str]:
        return [tag.name for tag in self.tags]


class Source(Base):
    """One followed source: where it is, how often it runs, how its last read went, and the
    cursor (validators, git commit, newest item) the next read starts from.

    `kind` is what the reader made of `location` (folder, file, url, git, ...); `tz` says how
    zone-less times of this source are read (None: the kind's default rule);
    `interval_seconds` None means the NEWSBOT_INGEST_INTERVAL default. `items_seen` counts
    the items of the last read that had content. Rows with `enabled` false are kept for their
    cursor (a source ingested by hand) but not scheduled.
    """

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    location: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str | None] = mapped_column(Text)
    added_by: Mapped[str | None] = mapped_column(Text)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    interval_seconds: Mapped[int | None] = mapped_column(Integer)
    tz: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    last_run_at: Mapped[datetime | None]
    last_status: Mapped[str | None] = mapped_column(String(20))
    last_error: Mapped[str | None] = mapped_column(Text)
    items_seen: Mapped[int] = mapped_column(Integer, default=0)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    commit: Mapped[str | None] = mapped_column(String(64))
    newest_item_at: Mapped[datetime | None]
    gap_count: Mapped[int] = mapped_column(Integer, default=0)
    gap_warned_at: Mapped[datetime | None]
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    next_run_at: Mapped[datetime | None]


class IngestRun(Base):
    __tablename__ = "ingest_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sources: Mapped[list[Any]] = mapped_column(JSON)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    added: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[list[Any]] = mapped_column(JSON, default=list)
    status: Mapped[str | None] = mapped_column(String(20))
    """None while running, then "finished" or "interrupted" (stopped, or found dead)."""
    pid: Mapped[int | None] = mapped_column(Integer)
    host: Mapped[str | None] = mapped_column(String(255))


class TermBucket(Base):
    """How many stories started in an hour (`bucket`, hours since the epoch) use a term, and
    the least and greatest hash of their sources (two differ: two sources). The term "" counts
    every story of the hour. Kept at ingest for `/trending` (see `storage.trending`)."""

    __tablename__ = "term_buckets"
    __table_args__ = (
        Index("ix_term_buckets_bucket", "bucket", "term"),
        {"sqlite_with_rowid": False},
    )

    term: Mapped[str] = mapped_column(String(64), primary_key=True)
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True)
    stories: Mapped[int] = mapped_column(Integer)
    source_lo: Mapped[int] = mapped_column(Integer)
    source_hi: Mapped[int] = mapped_column(Integer)


class MetaEntry(Base):
    """Small facts about the store itself, such as the tokenizer the index was built with."""

    __tablename__ = "meta"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)

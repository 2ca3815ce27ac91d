"""Plain values the store takes in, so callers need no ORM objects."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


def body_text(paragraphs: Sequence[Sequence[object]] | None, digest: str | None) -> str:
    """An article's body as indexed and fingerprinted: the paragraphs, or else the digest."""
    texts = [str(item[0]) for item in paragraphs or []]
    return "\n".join(texts) if texts else digest or ""


@dataclass(frozen=True, slots=True)
class Derived:
    """What the store derives from an article's text before writing it: its search-index
    tokens (space-joined, title and body) and its near-duplicate fingerprint (signed 64-bit).

    Computed by `storage.derive.derive` from plain values, so an ingest pipeline can compute it
    in worker processes and hand the store only what it writes.
    """

    index_title: str
    index_body: str
    fingerprint: int
    scheme: str
    """The name of the `storage.tokenizer.IndexScheme` the index tokens follow."""
    terms: tuple[str, ...] = ()
    """The words trending counts if the article starts a story (`storage.trending`)."""
    scored: tuple[str, str] | None = None
    """The title and body start as search scores them (`storage.derive.scored_text`), when the
    writer computed them: the store then keeps them for the search (`storage.search`)."""


@dataclass(frozen=True, slots=True)
class ArticleRecord:
    """The one article: what the parser reads (`summary` still empty, `summary_version` 0),
    what ingest summarizes (`dataclasses.replace`) and what the store writes."""

    key: str
    title: str
    published_at: datetime
    category: str | None
    tags: tuple[str, ...]
    source: str | None
    digest: str | None
    paragraphs: Sequence[tuple[str, bool]]
    """(text, is a heading) per paragraph."""
    summary: str
    summary_version: int
    share_url: str | None
    file: str | None
    content_hash: str
    """`content_hash` of the fields above."""
    derived: Derived | None = None
    """Left out, the store derives it while writing."""


def content_hash(article: ArticleRecord) -> str:
    """A hash of what a reader sees, so a post re-rendered in another format (a feed entry,
    a web page) is not a change; the store compares it to tell an update from a re-read."""
    payload = json.dumps(
        [
            article.title,
            article.published_at.isoformat(),
            article.category,
            list(article.tags),
            article.source,
            article.digest,
            [[text, heading] for text, heading in article.paragraphs],
            article.share_url,
        ],
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class ArticleView(ArticleRecord):
    """The article as stored, with its row id and story, read with plain statements for
    listings and search hits: building ORM objects for a page of ten cost more than the query
    that found them.

    `paragraphs` is loaded for search hits (their snippets) and wherever `summary` and `digest`
    are both empty (the text shown falls back to the first paragraph); else it is empty.
    """

    id: int
    story_id: int | None


@dataclass(frozen=True, slots=True)
class Failure:
    """Something an ingest could not read or store: the file, URL or source, and one line
    saying why. Ingest runs keep them (`IngestRun.failed`) and replies show them."""

    source: str
    error: str


@dataclass(frozen=True, slots=True)
class TrendingTerm:
    """A word bursting in recent stories (`storage.trending`), as `/trending` shows it."""

    term: str
    count: int
    """Stories in the window that use the term."""
    background_count: int = 0
    """Stories in the background window that use it."""
    score: float = 0.0
    sources: int = 1
    """1 when every story came from one source, else 2 (two or more)."""
    example_key: str | None = None
    example_title: str | None = None

"""Plain values the store takes in, so callers need no ORM objects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ArticleRecord:
    key: str
    title: str
    published_at: datetime
    category: str | None
    tags: tuple[str, ...]
    source: str | None
    digest: str | None
    paragraphs: list[tuple[str, bool]]
    summary: str
    summary_version: int
    share_url: str | None
    file: str | None
    content_hash: str

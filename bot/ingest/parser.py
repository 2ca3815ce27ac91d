"""Parse one post of the Jekyll news site into plain values (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo


class ParseError(ValueError):
    """The post cannot be read; the message says what is wrong and where."""


@dataclass(frozen=True, slots=True)
class Paragraph:
    text: str
    heading: bool = False


@dataclass(frozen=True, slots=True)
class ParsedPost:
    key: str
    title: str
    published_at: datetime
    category: str | None
    tags: tuple[str, ...]
    source: str | None
    digest: str | None
    paragraphs: tuple[Paragraph, ...]
    share_url: str | None
    file: str | None
    content_hash: str


def parse_post(text: str, filename: str | None = None, *, tz: tzinfo) -> ParsedPost:
    raise NotImplementedError  # being written: see the parser task

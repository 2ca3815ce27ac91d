"""Read any feed (RSS 2.0, Atom, JSON Feed) into posts, and tell when polls may miss items.

A jekyll-feed feed is read back into the site's own post format (`bot.ingest.feed`), so
its keys, share links and categories are the files'. Any other feed is keyed by its
entries' guid (or link), with categories and tags from the feed's categories; an entry
with only a description is marked for its linked page to be fetched and extracted.
"""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import feedparser  # type: ignore[import-untyped]

from bot.ingest.feed import (
    JEKYLL_PERMALINK,
    entry_filename,
    entry_html,
    entry_published,
    entry_to_post_text,
)
from bot.ingest.timerule import TimeRule
from bot.ingest.xmlguard import entity_problem, unexpanded_entity

JSON_FEED_TYPES = frozenset({"application/feed+json", "application/json"})
JSON_FEED_VERSION = "https://jsonfeed.org/version/"
KEY_HINT_CHARS = 20


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One entry ready to become a post: `html` is None when its page must be fetched."""

    origin: str
    filename: str
    key_hint: str | None
    entry: Mapping[str, Any]
    html: str | None
    published: datetime | None


@dataclass
class FeedDocument:
    title: str | None
    jekyll: bool
    entries: list[FeedEntry] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def newest(self) -> datetime | None:
        times = [e.published for e in self.entries if e.published is not None]
        return max(times) if times else None


def is_json_feed(body: bytes, content_type: str | None) -> bool:
    media_type = (content_type or "").split(";")[0].strip().lower()
    head = body[:512].lstrip().removeprefix(b"\xef\xbb\xbf").lstrip()
    if not head.startswith(b"{"):
        return False
    return media_type in JSON_FEED_TYPES or JSON_FEED_VERSION.encode() in body[:2048]


def parse_feed(
    body: bytes, origin: str, rule: TimeRule | None, *, json_feed: bool = False
) -> FeedDocument:
    """The entries of a feed, each with its corrected time; an unreadable feed is one failure."""
    if json_feed:
        title, generator, entries = _json_feed_entries(body)
        if entries is None:
            return FeedDocument(None, False, failures=[(origin, title or "not a JSON Feed")])
    else:
        refused = entity_problem(body)
        if refused:
            return FeedDocument(None, False, failures=[(origin, refused)])
        parsed = feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False)
        if parsed.bozo and not parsed.entries:
            return FeedDocument(
                None, False, failures=[(origin, f"not a readable feed: {parsed.bozo_exception}")]
            )
        title = str(parsed.feed.get("title") or "").strip() or None
        generator = str(parsed.feed.get("generator") or "")
        entries = list(parsed.entries)
    document = FeedDocument(title, _is_jekyll(generator, entries))
    for number, entry in enumerate(entries, start=1):
        entry_origin = entry.get("link") or entry.get("id") or f"{origin}#entry-{number}"
        entity = unexpanded_entity(entry)
        if entity:
            document.failures.append((entry_origin, f"unexpanded XML entity {entity}"))
            continue
        published = entry_published(entry)
        # jekyll-feed's summary is an excerpt of the content it always carries; elsewhere an
        # entry without content is a teaser, and its page holds the article.
        body_html = entry_html(entry, summary=document.jekyll or not entry.get("link"))
        if body_html is None and not entry.get("link"):
            document.failures.append((entry_origin, "feed entry has no content or summary"))
            continue
        document.entries.append(
            FeedEntry(
                origin=entry_origin,
                filename=entry_filename(entry),
                key_hint=None if document.jekyll else _key_hint(entry),
                entry=entry,
                html=body_html,
                published=rule.rendered(published) if published and rule else published,
            )
        )
    return document


def entry_post_text(item: FeedEntry, body_html: str, *, jekyll: bool) -> str:
    return entry_to_post_text(
        item.entry, body_html, published=item.published, category_from_terms=not jekyll
    )


def has_gap(document: FeedDocument, newest_seen: datetime | None) -> bool:
    """Read before, and every dated entry is newer than the newest item seen then: entries
    published between the two polls may have fallen off the feed."""
    times = [e.published for e in document.entries if e.published is not None]
    return (
        newest_seen is not None and bool(times) and all(newer_than(t, newest_seen) for t in times)
    )


def newer_than(moment: datetime | None, newest_seen: datetime | None) -> bool:
    if moment is None or newest_seen is None:
        return True
    seen = newest_seen if newest_seen.tzinfo else newest_seen.replace(tzinfo=UTC)
    return moment > seen


def _is_jekyll(generator: str, entries: list[Any]) -> bool:
    """jekyll-feed names itself; a feed that does not but links every entry by a Jekyll
    permalink (`/:categories/:year/:month/:day/:title`) is read the same way."""
    if generator.strip().lower().startswith("jekyll"):
        return True
    links = [str(entry.get("link") or "") for entry in entries]
    return bool(links) and all(JEKYLL_PERMALINK.match(urlsplit(link).path) for link in links)


def _key_hint(entry: Mapping[str, Any]) -> str | None:
    guid = str(entry.get("id") or entry.get("link") or "").strip()
    if not guid:
        return None
    return hashlib.sha256(guid.encode("utf-8")).hexdigest()[:KEY_HINT_CHARS]


def _json_feed_entries(body: bytes) -> tuple[str | None, str, list[dict[str, Any]] | None]:
    """JSON Feed 1.0/1.1 items shaped like feedparser's entries.

    By hand: feedparser does not read JSON Feed, and the format is a few plain keys.
    """
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return f"not a readable JSON Feed: {exc}", "", None
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        return "not a JSON Feed: no items list", "", None
    entries: list[dict[str, Any]] = []
    for item in data["items"]:
        if not isinstance(item, dict):
            continue
        content_html = item.get("content_html")
        content_text = item.get("content_text")
        content: list[dict[str, str]] = []
        if isinstance(content_html, str) and content_html.strip():
            content.append({"value": content_html})
        elif isinstance(content_text, str) and content_text.strip():
            paragraphs = [line.strip() for line in content_text.splitlines() if line.strip()]
            content.append(
                {"value": "".join(f"<p>{html.escape(p, quote=False)}</p>" for p in paragraphs)}
            )
        summary = item.get("summary")
        raw_tags = item.get("tags")
        tags: list[Any] = raw_tags if isinstance(raw_tags, list) else []
        entries.append(
            {
                "id": str(item.get("id") or "") or None,
                "link": item.get("url") if isinstance(item.get("url"), str) else None,
                "title": item.get("title") if isinstance(item.get("title"), str) else "",
                "published": str(item.get("date_published") or item.get("date_modified") or "")
                or None,
                "content": content,
                "summary": summary if isinstance(summary, str) else None,
                "tags": [{"term": str(tag)} for tag in tags if str(tag).strip()],
            }
        )
    title = data.get("title")
    return (title.strip() or None) if isinstance(title, str) else None, "", entries

"""Turn an Atom/RSS entry back into a post in the site's own format.

jekyll-feed publishes each post's rendered HTML; rewriting it as front matter plus
body lets the one post parser read feed entries exactly as it reads files. Kramdown
renders the share link `<http://…>` as `<a href="http://…">http://…</a>` and the
back-links `[返回…](…)` as `<a>` paragraphs, so the share link is turned back into
its `<…>` line and the back-links are dropped.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

FEED_CONTENT_TYPES = frozenset(
    {
        "application/atom+xml",
        "application/rss+xml",
        "application/rdf+xml",
        "application/xml",
        "text/xml",
    }
)
_FEED_ROOT = re.compile(rb"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*<(feed|rss|rdf:RDF)[\s>]", re.S)
JEKYLL_PERMALINK = re.compile(
    r"^/(?P<categories>(?:[^/]+/)*)(?P<year>\d{4})/(?P<month>\d{2})/(?P<day>\d{2})/"
    r"(?P<slug>[^/]+?)(?:\.html?)?/?$"
)
_SAFE_NAME = re.compile(r"[^\w.-]+")
_BACK_LINK_SEPARATORS = " \t\r\n|｜/·•-"


def is_feed(body: bytes, content_type: str | None) -> bool:
    """A feed by its declared type, or by its root element when the type says little."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type in FEED_CONTENT_TYPES:
        return True
    head = body[:2048].removeprefix(b"\xef\xbb\xbf")
    return bool(_FEED_ROOT.match(head))


def entry_filename(entry: Mapping[str, Any]) -> str:
    """A Jekyll-style `YYYY-MM-DD-slug.md` name: the parser derives the key as from the file.

    The slug is the share id (`infoCode=…`) when the link carries one, else the last
    segment of the post URL (or of the entry id); the date comes from the permalink
    or, failing that, from the entry's own date.
    """
    for address in (entry.get("link"), entry.get("id")):
        if not address:
            continue
        parts = urlsplit(address)
        info_code = parse_qs(parts.query).get("infoCode")
        permalink = JEKYLL_PERMALINK.match(parts.path)
        if info_code:
            slug = info_code[0]
        elif permalink:
            slug = unquote(permalink["slug"])
        else:
            slug = unquote(parts.path.rstrip("/").rsplit("/", 1)[-1]).rsplit(".", 1)[0]
        slug = _SAFE_NAME.sub("-", slug).strip("-.")
        if not slug:
            continue
        if permalink:
            return f"{permalink['year']}-{permalink['month']}-{permalink['day']}-{slug}.md"
        published = entry_published(entry)
        return f"{published:%Y-%m-%d}-{slug}.md" if published else f"{slug}.md"
    seed = entry.get("id") or entry.get("link") or entry.get("title") or ""
    return f"entry-{hashlib.sha256(str(seed).encode()).hexdigest()[:16]}.md"


def entry_categories(entry: Mapping[str, Any]) -> list[str]:
    """Jekyll's default permalink `/:categories/:year/:month/:day/:title` names the categories."""
    link = entry.get("link") or ""
    permalink = JEKYLL_PERMALINK.match(urlsplit(link).path)
    if not permalink:
        return []
    return [unquote(part) for part in permalink["categories"].split("/") if part]


def entry_tags(entry: Mapping[str, Any], categories: list[str]) -> list[str]:
    """jekyll-feed writes each tag as a `<category term=…>`; a category there is no tag."""
    terms = (str(tag.get("term") or "").strip() for tag in entry.get("tags") or [])
    return list(dict.fromkeys(term for term in terms if term and term not in categories))


def entry_published(entry: Mapping[str, Any]) -> datetime | None:
    """The entry's date with the offset it was written with (feedparser's own is UTC only)."""
    for field in ("published", "updated", "created"):
        raw = entry.get(field)
        if not raw:
            continue
        try:
            return datetime.fromisoformat(raw)
        except ValueError:
            pass
        try:
            return parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            pass
    for field in ("published_parsed", "updated_parsed"):
        parsed = entry.get(field)
        if parsed:
            year, month, day, hour, minute, second = parsed[:6]
            return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    return None


def entry_title(entry: Mapping[str, Any]) -> str:
    title = str(entry.get("title") or "")
    detail = entry.get("title_detail") or {}
    if detail.get("type") in ("text/html", "application/xhtml+xml"):
        title = LexborHTMLParser(f"<p>{title}</p>").text() if "<" in title else title
        title = html.unescape(title)
    return " ".join(title.split())


def entry_html(entry: Mapping[str, Any], *, summary: bool = True) -> str | None:
    """The full content when the feed carries it, else the summary (when `summary`)."""
    for content in entry.get("content") or []:
        value = content.get("value")
        if value and value.strip():
            return str(value)
    if not summary:
        return None
    text = entry.get("summary")
    return str(text) if text and text.strip() else None


def entry_to_post_text(
    entry: Mapping[str, Any],
    body_html: str,
    *,
    published: datetime | None = None,
    category_from_terms: bool = False,
) -> str:
    """Front matter as the site writes it, then the body as the site's files hold it.

    `published` overrides the entry's own time (corrected by the source's time rule). The
    category is the Jekyll permalink's, or with `category_from_terms` (any other feed) the
    first of the entry's categories. A post Jekyll published without front matter (a blank
    line before its `---`) gets its front matter back from the body it was rendered into.
    """
    recovered = recover_front_matter(body_html)
    if recovered is not None:
        front_matter, rest = recovered
        return "---\n" + front_matter + "\n---\n" + rendered_html_to_post_body(rest) + "\n"
    categories = entry_categories(entry)
    tags = entry_tags(entry, categories)
    if category_from_terms and not categories:
        # Any other feed's categories are its tags; the first one also files the post.
        tags = entry_tags(entry, [])
        categories = tags[:1]
    published = published or entry_published(entry)
    lines = ["---", "layout: post", f"title: {_yaml_string(entry_title(entry))}"]
    lines.append(f"date: {_jekyll_date(published)}" if published else 'date: ""')
    if categories:
        lines.append(f"categories: {_yaml_value(categories)}")
    if tags:
        lines.append(f"tags: {_yaml_value(tags)}")
    lines.append("---")
    return "\n".join(lines) + "\n" + rendered_html_to_post_body(body_html) + "\n"


_FRONT_MATTER_LINE = re.compile(r"^[A-Za-z_][\w-]*:(?:\s.*)?$")
_QUOTED = re.compile(r"^(?P<key>[A-Za-z_][\w-]*:\s*)(?:“(?P<double>.*)”|‘(?P<single>.*)’)\s*$")
_RENDERED_FENCES = frozenset({"---", "—", "--", "–"})


def recover_front_matter(body_html: str) -> tuple[str, str] | None:
    """(front matter, rest of the body) of a post Jekyll rendered with its front matter as text.

    Jekyll takes front matter only at the very top of a file: after a blank line, kramdown
    renders `---` as a rule and the `key: value` lines as a paragraph ending in the closing
    `---`, typographic quotes and dashes included. Those lines are the author's front matter.
    """
    root = LexborHTMLParser(body_html).body
    if root is None:
        return None
    nodes = [
        node
        for node in root.iter(include_text=True)
        if not (node.tag == "-text" and not (node.text(deep=False) or "").strip())
    ]
    if len(nodes) < 2 or nodes[0].tag != "hr" or nodes[1].tag not in ("p", "h2"):
        return None
    lines = [line.strip() for line in nodes[1].text(deep=True).split("\n") if line.strip()]
    if lines and lines[-1] in _RENDERED_FENCES:
        lines.pop()
    if not lines or not all(_FRONT_MATTER_LINE.match(line) for line in lines):
        return None
    if not any(line.startswith("title:") for line in lines):
        return None
    restored = []
    for line in lines:
        quoted = _QUOTED.match(line)
        if quoted and quoted["double"] is not None:
            line = quoted["key"] + _yaml_string(quoted["double"])
        elif quoted:
            line = quoted["key"] + "'" + quoted["single"].replace("'", "''") + "'"
        restored.append(line)
    rest = "".join(node.html or "" for node in nodes[2:])
    return "\n".join(restored), rest


def rendered_html_to_post_body(body_html: str) -> str:
    """Undo what Markdown rendering did to the lines the parser looks for."""
    root = LexborHTMLParser(body_html).body
    if root is None:
        return ""
    blocks: list[str] = []
    leading = True
    for node in root.iter(include_text=True):
        if node.tag == "-text" and not (node.text(deep=False) or "").strip():
            continue
        if leading and node.tag == "blockquote":
            blocks.append("> " + " ".join(node.text().split()) + "\n")
        elif node.tag == "p" and (share_url := _share_link(node)) is not None:
            blocks.append(f"\n<{share_url}>\n")
        elif node.tag == "p" and _is_back_links(node):
            continue
        else:
            blocks.append(node.html or "")
        leading = False
    return "\n".join(blocks).strip("\n")


def _share_link(paragraph: LexborNode) -> str | None:
    """The URL of a paragraph that is only an autolink, `""` for the empty `<>`, else None."""
    text = paragraph.text().strip()
    if text == "<>":
        return ""
    links = paragraph.css("a")
    if len(links) != 1:
        return None
    href = (links[0].attributes.get("href") or "").strip()
    if href.startswith(("http://", "https://")) and text == href:
        return href
    return None


def _is_back_links(paragraph: LexborNode) -> bool:
    """A paragraph made only of `返回…` links and separators."""
    links = paragraph.css("a")
    if not links:
        return False
    rest = paragraph.text()
    for link in links:
        label = link.text().strip()
        if not label.startswith("返回"):
            return False
        rest = rest.replace(label, "", 1)
    return not rest.strip(_BACK_LINK_SEPARATORS)


def _jekyll_date(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S %z" if moment.tzinfo else "%Y-%m-%d %H:%M:%S")


def _yaml_string(value: str) -> str:
    """A JSON string is a valid YAML double-quoted scalar."""
    return json.dumps(value, ensure_ascii=False)


def _yaml_value(values: list[str]) -> str:
    return _yaml_string(values[0]) if len(values) == 1 else json.dumps(values, ensure_ascii=False)

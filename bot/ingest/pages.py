"""An article from a rendered HTML page, and a site's feed from its home page.

A page built by Jekyll holds the post's rendered body in one container (`post-content`,
`itemprop="articleBody"`): that container is read exactly as jekyll-feed's content is, so
the page gives the same paragraphs, key, share link and category as the source file.
Any other page goes through trafilatura, which finds the article among navigation,
sidebars and footers (and handles Chinese news pages).
"""

from __future__ import annotations

import html as html_lib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import trafilatura
from selectolax.lexbor import LexborHTMLParser

from bot.ingest.feed import entry_filename, entry_to_post_text, recover_front_matter
from bot.ingest.timerule import TimeRule

FEED_LINK_TYPES = (
    "application/atom+xml",
    "application/rss+xml",
    "application/feed+json",
    "application/json",
)
BODY_SELECTORS = (
    ".post-content",
    "[itemprop=articleBody]",
    ".e-content",
)
_HTML_START = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)[\s>]", re.I | re.S)


@dataclass(frozen=True, slots=True)
class PagePost:
    filename: str
    text: str
    url: str
    published: datetime | None


def is_html(body: bytes, content_type: str | None) -> bool:
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type in ("text/html", "application/xhtml+xml"):
        return True
    return bool(_HTML_START.match(body[:1024].removeprefix(b"\xef\xbb\xbf")))


def feed_links(page: str, base_url: str) -> list[str]:
    """The feeds a page announces with `<link rel="alternate" type=…>`, absolute, in order."""
    head = LexborHTMLParser(page)
    found: list[str] = []
    for link in head.css("link[rel]"):
        rels = (link.attributes.get("rel") or "").lower().split()
        kind = (link.attributes.get("type") or "").split(";")[0].strip().lower()
        href = (link.attributes.get("href") or "").strip()
        if "alternate" in rels and kind in FEED_LINK_TYPES and href:
            url = urljoin(base_url, href)
            if urlsplit(url).scheme in ("http", "https") and url not in found:
                found.append(url)
    return found


def is_article(page: str) -> bool:
    """A page that is one article (not a home page or a list): what og:type, a post
    container or a single `<article>` say."""
    tree = LexborHTMLParser(page)
    og_type = _meta(tree, "og:type")
    if og_type:
        return og_type.lower() == "article"
    if _body_container(tree) is not None:
        return True
    return len(tree.css("article")) == 1


@dataclass(frozen=True, slots=True)
class _Extracted:
    body_html: str
    title: str
    published: datetime | None
    container: bool


def _extract(tree: LexborHTMLParser, page: str, canonical: str) -> _Extracted | None:
    published = _published(tree)
    title = _title(tree)
    container = _body_container(tree)
    if container is not None:
        return _Extracted(container.inner_html or "", title, published, True)
    # A post Jekyll published without front matter has no layout either: the page is only
    # its body, front matter lines included.
    body = tree.body.inner_html if tree.body is not None else ""
    if body and recover_front_matter(body) is not None:
        return _Extracted(body, title, published, True)
    extracted = trafilatura.bare_extraction(
        page, url=canonical, with_metadata=True, include_comments=False, include_tables=True
    )
    text = getattr(extracted, "text", None) if extracted is not None else None
    if not text or not text.strip():
        return None
    paragraphs = [line.strip() for line in text.splitlines() if line.strip()]
    title = title or str(getattr(extracted, "title", None) or "")
    if paragraphs and paragraphs[0] == title:
        paragraphs = paragraphs[1:]
    if published is None and getattr(extracted, "date", None):
        published = _datetime(str(getattr(extracted, "date", "")))
    body_html = "".join(f"<p>{html_lib.escape(p)}</p>" for p in paragraphs)
    return _Extracted(body_html, title, published, False)


def page_body_html(page: str, url: str) -> str | None:
    """Only the article body of a page (a feed entry's teaser links to it)."""
    tree = LexborHTMLParser(page)
    extracted = _extract(tree, page, _canonical(tree, url))
    return extracted.body_html if extracted is not None else None


def page_to_post(page: str, url: str, rule: TimeRule | None) -> PagePost | None:
    """The page's article as post text in the site's format; None when it holds none."""
    tree = LexborHTMLParser(page)
    canonical = _canonical(tree, url)
    extracted = _extract(tree, page, canonical)
    if extracted is None:
        return None
    published = extracted.published
    if published is not None and rule is not None:
        published = rule.rendered(published)
    entry: dict[str, Any] = {
        "link": canonical,
        "id": canonical,
        "title": extracted.title,
        "published": published.isoformat() if published else None,
        "tags": [{"term": term} for term in _terms(tree)],
    }
    text = entry_to_post_text(
        entry,
        extracted.body_html,
        published=published,
        category_from_terms=not extracted.container,
    )
    return PagePost(entry_filename(entry), text, canonical, published)


def _meta(tree: LexborHTMLParser, name: str) -> str | None:
    for node in tree.css(f'meta[property="{name}"], meta[name="{name}"]'):
        content = (node.attributes.get("content") or "").strip()
        if content:
            return content
    return None


def _body_container(tree: LexborHTMLParser) -> Any:
    return next(filter(None, map(tree.css_first, BODY_SELECTORS)), None)


def _canonical(tree: LexborHTMLParser, url: str) -> str:
    node = tree.css_first('link[rel="canonical"]')
    href = (node.attributes.get("href") or "").strip() if node is not None else ""
    href = href or _meta(tree, "og:url") or ""
    absolute = urljoin(url, href) if href else url
    # A page names its own canonical address, not another site's (whose article ids, and
    # so whose stored posts, it could otherwise claim).
    if urlsplit(absolute).scheme not in ("http", "https"):
        return url
    return absolute if urlsplit(absolute).hostname == urlsplit(url).hostname else url


def _title(tree: LexborHTMLParser) -> str:
    for selector in ("h1.post-title", "article h1", "h1"):
        node = tree.css_first(selector)
        if node is not None and node.text().strip():
            return " ".join(node.text().split())
    og = _meta(tree, "og:title")
    if og:
        return og
    node = tree.css_first("title")
    return " ".join(node.text().split()) if node is not None else ""


def _published(tree: LexborHTMLParser) -> datetime | None:
    candidates = [_meta(tree, "article:published_time")]
    candidates += [node.attributes.get("datetime") for node in tree.css("time[datetime]")]
    for script in tree.css('script[type="application/ld+json"]'):
        try:
            data = json.loads(script.text())
        except ValueError:
            continue
        if isinstance(data, dict) and isinstance(data.get("datePublished"), str):
            candidates.append(data["datePublished"])
    for candidate in candidates:
        moment = _datetime(candidate or "")
        if moment is not None:
            return moment
    return None


def _datetime(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None


def _terms(tree: LexborHTMLParser) -> list[str]:
    """Tags a page states: `article:tag` metas, `rel="tag"` links, keyword lists."""
    terms = [
        (node.attributes.get("content") or "").strip()
        for node in tree.css('meta[property="article:tag"]')
    ]
    terms += [node.text().strip() for node in tree.css('a[rel~="tag"]')]
    keywords = _meta(tree, "keywords")
    if keywords:
        terms += [part.strip() for part in re.split(r"[,，]", keywords)]
    return list(dict.fromkeys(term for term in terms if term))

"""Read raw post texts from a folder, a file, the URL of one post or the URL of a feed.

Nothing here parses a post: every source yields `RawPost`s (text plus the file name
the parser derives the key from) and `storage.records.Failure`s (one clear line each), so one
bad file or one dead server is reported and the rest goes on.
"""

from __future__ import annotations

import asyncio
import codecs
import logging
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

import httpx
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)
from tqdm import tqdm

from bot.ingest import guard
from bot.ingest.feed import is_feed
from bot.ingest.feeds import (
    FeedEntry,
    entry_post_text,
    has_gap,
    is_json_feed,
    newer_than,
    parse_feed,
)
from bot.ingest.pages import feed_links, is_article, is_html, page_body_html, page_to_post
from bot.ingest.timerule import TimeRule
from storage.records import Failure

POST_SUFFIXES = frozenset({".md", ".markdown", ".html", ".txt"})
DEFAULT_MAX_POST_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_RESPONSE_BYTES = 20 * 1024 * 1024
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 10.0
DEFAULT_TOTAL_TIMEOUT = 120.0
USER_AGENT = "newsbot/0.1 (news ingest)"
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
_BINARY_SNIFF_BYTES = 8192
PAGES_PER_HOST = 4
"""Linked pages of one feed fetched at once from one host."""

log = logging.getLogger(__name__)

SourceKind = Literal["folder", "file", "url", "git"]


@dataclass(frozen=True, slots=True)
class Validators:
    """What a server said about its response, sent back to ask "has it changed?"."""

    etag: str | None
    last_modified: str | None


@dataclass(frozen=True, slots=True)
class SourceCursor:
    """Where the last complete read of a source stopped, kept on its row between runs.

    Validators for a conditional GET, the git commit last read, and the newest item time
    seen (what gap detection compares a feed against). The pipeline saves a read's cursor
    only after that read's posts are stored.
    """

    etag: str | None = None
    last_modified: str | None = None
    commit: str | None = None
    newest_item_at: datetime | None = None

    @property
    def validators(self) -> Validators | None:
        if self.etag is None and self.last_modified is None:
            return None
        return Validators(etag=self.etag, last_modified=self.last_modified)


@dataclass(frozen=True, slots=True)
class RawPost:
    """One post's text. `tz` reads its zone-less times (None: the ingest's default);
    `key_hint` keys it when it has no article id (a generic feed's guid); `rendered` marks
    text rebuilt from a feed or page, whose time never moves a stored article's."""

    origin: str
    filename: str | None
    text: str
    tz: tzinfo | None = None
    key_hint: str | None = None
    rendered: bool = False
    encoding: str = "utf-8"
    """What the bytes were decoded from, reported when it is not UTF-8."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff for connection failures, 5xx and 429."""

    attempts: int = 4
    first_wait: float = 0.5
    max_wait: float = 8.0


@dataclass
class FetchResult:
    source: str
    posts: list[RawPost] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    validators: Validators | None = None
    not_modified: bool = False
    cursor: SourceCursor | None = None
    """What to remember for the next read; None keeps the stored cursor."""
    gap: bool = False
    """Items may have been dropped between reads (every entry newer than the newest seen)."""
    name: str | None = None
    """The source's own name (a feed's title)."""
    newest_item_at: datetime | None = None
    feed_url: str | None = None
    """The feed a home page led to (what to follow instead of the page)."""


class FetchError(Exception):
    """A fetch that failed for a reason worth one line in the report."""


class _RetryableStatus(FetchError):
    pass


@dataclass(frozen=True, slots=True)
class Undecodable:
    """Why some bytes are not a post (empty, binary, not text)."""

    error: str


def classify_source(source: str) -> SourceKind:
    """Tell a folder, a file, an http(s) URL and a git repository apart; anything else is a
    ValueError."""
    if source.startswith(("git+https://", "git+http://", "git+file://")):
        return "git"
    scheme = urlsplit(source).scheme.lower()
    if scheme in ("http", "https"):
        if not urlsplit(source).netloc:
            raise ValueError(f"{source}: the URL has no host")
        return "url"
    if len(scheme) > 1 and "://" in source:
        raise ValueError(f"{source}: unsupported URL scheme {scheme!r} (use http, https or a path)")
    path = Path(source).expanduser()
    if path.is_dir():
        return "folder"
    if path.is_file():
        return "file"
    raise ValueError(f"{source}: no such file or folder")


def post_files(folder: Path) -> list[Path]:
    """Post files under `folder`, recursively, in a stable order; hidden folders are skipped,
    and so is a symlink leading out of the folder (it could point at any file)."""
    real_folder = folder.resolve()
    return sorted(
        path
        for path in folder.rglob("*")
        if path.suffix.lower() in POST_SUFFIXES
        and path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
        and (not path.is_symlink() or path.resolve().is_relative_to(real_folder))
    )


def read_folder(
    folder: str | Path, *, progress: bool = False, max_bytes: int = DEFAULT_MAX_POST_BYTES
) -> Iterator[RawPost | Failure]:
    """Every post file under `folder`; a progress bar on stderr when it is a terminal."""
    files = post_files(Path(folder).expanduser())
    shown = progress and sys.stderr.isatty()
    for path in tqdm(files, desc="reading", unit="file", disable=not shown, file=sys.stderr):
        yield read_file(path, max_bytes=max_bytes)


def read_file(path: str | Path, *, max_bytes: int = DEFAULT_MAX_POST_BYTES) -> RawPost | Failure:
    """One post file as UTF-8 text (a BOM is dropped), or the reason it cannot be one."""
    path = Path(path).expanduser()
    origin = str(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return Failure(origin, f"file is {size} bytes, larger than {max_bytes} bytes")
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        return Failure(origin, f"cannot read the file: {exc.strerror or exc}")
    if len(data) > max_bytes:
        return Failure(origin, f"file is larger than {max_bytes} bytes")
    decoded = decode_post_bytes(data)
    if isinstance(decoded, Decoded):
        return RawPost(origin, path.name, decoded.text, encoding=decoded.encoding)
    return Failure(origin, decoded.error)


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    encoding: str


# Chinese sites still publish GBK and its superset GB18030.
FALLBACK_ENCODINGS = ("gbk", "gb18030")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def decode_post_bytes(data: bytes, declared_charset: str | None = None) -> Decoded | Undecodable:
    """`decode_post`, saying which encoding it used: UTF-8, the declared charset, or, when
    neither reads, GBK or GB18030 if the bytes decode cleanly to text without control
    characters (random bytes rarely do)."""
    decoded = decode_post(data, declared_charset)
    if not isinstance(decoded, Undecodable):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return Decoded(decoded, str(declared_charset))
        return Decoded(decoded, "utf-8")
    if not decoded.error.startswith("not UTF-8"):
        return decoded
    for encoding in FALLBACK_ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if not _CONTROL.search(text):
            return Decoded(text, encoding.upper())
    return decoded


def decode_post(data: bytes, declared_charset: str | None = None) -> str | Undecodable:
    """Text of a post, or why these bytes are not one (empty, binary, not text).

    UTF-8 comes first even when a server declares another charset: many servers
    label every text file ISO-8859-1, and valid UTF-8 is almost never an accident.
    """
    if not data.strip():
        return Undecodable("empty file" if not data else "empty file (only whitespace)")
    if b"\x00" in data[:_BINARY_SNIFF_BYTES]:
        return Undecodable("binary file (contains NUL bytes), not a text post")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        not_utf8 = f"not UTF-8 text: invalid byte 0x{data[exc.start]:02x} at offset {exc.start}"
    if not declared_charset:
        return Undecodable(not_utf8)
    try:
        if codecs.lookup(declared_charset).name != "utf-8":
            return data.decode(declared_charset)
    except (LookupError, UnicodeDecodeError):
        return Undecodable(f"{not_utf8}, nor {declared_charset} as declared")
    return Undecodable(not_utf8)


def make_client(
    *,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    read_timeout: float = DEFAULT_READ_TIMEOUT,
    user_agent: str = USER_AGENT,
    allow_private: bool = False,
    resolve: guard.Resolver = guard.system_resolve,
) -> httpx.AsyncClient:
    """The client every fetch shares: bounded waits, redirects followed, a named agent, and
    every connection (each redirect hop too) only to public addresses unless `allow_private`."""
    return httpx.AsyncClient(
        transport=guard.guarded_transport(allow_private=allow_private, resolve=resolve),
        # Proxies from the environment would take requests past the guard (the proxy, not
        # this process, would resolve and dial the host), so they serve only unguarded clients.
        trust_env=allow_private,
        timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
        follow_redirects=True,
        max_redirects=5,
        headers={
            "User-Agent": user_agent,
            "Accept": "application/atom+xml, application/rss+xml, application/xml;q=0.9, "
            "text/markdown, text/plain;q=0.8, */*;q=0.5",
        },
    )


async def fetch_url(
    url: str,
    *,
    client: httpx.AsyncClient,
    validators: Validators | None = None,
    max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    retry: RetryPolicy = RetryPolicy(),
    total_timeout: float = DEFAULT_TOTAL_TIMEOUT,
    cursor: SourceCursor | None = None,
    rule: TimeRule | None = None,
) -> FetchResult:
    """Fetch one post, page or feed (a home page: the feed it links), conditionally when
    validators are given.

    Never raises for network or server trouble: that becomes a failure. `validators`
    in the result is what to remember for the next fetch of this URL. The read
    timeout bounds each wait for bytes; `total_timeout` bounds the whole fetch with
    its retries, so a server trickling a byte at a time cannot hold the ingest. With a
    `cursor` (and no `validators`) its validators are sent, and `result.cursor` is that
    cursor with the response's validators and the newest item time. `rule` reads the
    source's times (None: as stated, zone-less ones in the ingest's zone).
    """
    if validators is None and cursor is not None:
        validators = cursor.validators
    fetcher = _Fetcher(client, max_bytes, retry, total_timeout, rule, cursor)
    result = await fetcher.fetch(url, validators, discover=True)
    if not result.failures or result.posts:
        fresh = result.validators
        result.cursor = replace(
            cursor or SourceCursor(),
            etag=fresh.etag if fresh else None,
            last_modified=fresh.last_modified if fresh else None,
        )
        if result.newest_item_at is not None:
            result.cursor = replace(result.cursor, newest_item_at=result.newest_item_at)
    return result


@dataclass
class _Fetcher:
    """One source's read: the shared client, the limits, the time rule and the stored cursor."""

    client: httpx.AsyncClient
    max_bytes: int
    retry: RetryPolicy
    total_timeout: float
    rule: TimeRule | None
    cursor: SourceCursor | None
    hosts: dict[str, asyncio.Semaphore] = field(default_factory=dict)

    async def fetch(
        self, url: str, validators: Validators | None, *, discover: bool
    ) -> FetchResult:
        result = FetchResult(source=url, validators=validators)
        try:
            async with asyncio.timeout(self.total_timeout):
                response = await self._get(url, validators)
        except (FetchError, guard.SourceRefused) as exc:
            result.failures.append(Failure(url, str(exc)))
            return result
        except httpx.HTTPError as exc:
            result.failures.append(Failure(url, _describe_http_error(exc, self.client, self.retry)))
            return result
        except httpx.InvalidURL as exc:
            result.failures.append(Failure(url, f"invalid URL: {exc}"))
            return result
        except TimeoutError:
            result.failures.append(Failure(url, f"not done within {self.total_timeout} s, gave up"))
            return result
        if response.status_code == 304:
            result.not_modified = True
            result.validators = _response_validators(response.headers, sent=validators)
            return result
        result.validators = _response_validators(response.headers, sent=None)
        content_type = response.headers.get("content-type")
        json_feed = is_json_feed(response.body, content_type)
        if json_feed or is_feed(response.body, content_type):
            await self._read_feed(result, response.body, url, json_feed=json_feed)
            return result
        decoded = decode_post_bytes(response.body, response.charset)
        if isinstance(decoded, Undecodable):
            result.failures.append(Failure(url, decoded.error))
        elif is_html(response.body, content_type):
            await self._read_page(result, decoded.text, str(response.url), discover)
        else:
            filename = _url_filename(str(response.url))
            result.posts.append(RawPost(url, filename, decoded.text, encoding=decoded.encoding))
        return result

    async def _read_page(self, result: FetchResult, page: str, url: str, discover: bool) -> None:
        """An article page gives its article; a home page gives the posts of the feed it links."""
        links = feed_links(page, url)
        if discover and links and not is_article(page):
            found = await self.fetch(links[0], None, discover=False)
            result.posts, result.failures = found.posts, found.failures
            result.gap, result.name = found.gap, found.name
            result.newest_item_at, result.feed_url = found.newest_item_at, links[0]
            return
        post = await asyncio.to_thread(page_to_post, page, url, self.rule)
        if post is None:
            result.failures.append(Failure(url, "no article found on the page"))
            return
        result.posts.append(RawPost(url, post.filename, post.text, tz=self._zone, rendered=True))
        result.newest_item_at = post.published

    @property
    def _zone(self) -> tzinfo | None:
        return self.rule.zone if self.rule else None

    async def _read_feed(
        self, result: FetchResult, body: bytes, url: str, *, json_feed: bool
    ) -> None:
        """Entries to posts, teasers' pages fetched, gap checked."""
        document = await asyncio.to_thread(parse_feed, body, url, self.rule, json_feed=json_feed)
        seen = self.cursor.newest_item_at if self.cursor else None
        result.name = document.title
        result.gap = has_gap(document, seen)
        newest = [t for t in (document.newest, seen) if t is not None]
        result.newest_item_at = max(newest, key=_aware) if newest else None
        result.failures.extend(Failure(origin, error) for origin, error in document.failures)
        # A teaser read before (not newer than the newest item seen) is not fetched again.
        teasers = [
            entry
            for entry in document.entries
            if entry.html is None and newer_than(entry.published, seen)
        ]
        bodies = await asyncio.gather(*(self._page_body(entry) for entry in teasers))
        fetched = {id(entry): body for entry, body in zip(teasers, bodies, strict=True)}
        for entry in document.entries:
            body_html = entry.html if entry.html is not None else fetched.get(id(entry))
            if body_html is None:
                continue
            text = entry_post_text(entry, body_html, jekyll=document.jekyll)
            result.posts.append(
                RawPost(
                    entry.origin,
                    entry.filename,
                    text,
                    tz=self._zone,
                    key_hint=entry.key_hint,
                    rendered=True,
                )
            )

    async def _page_body(self, entry: FeedEntry) -> str | None:
        """The linked page's article body, or the entry's description when that fails."""
        link = str(entry.entry.get("link") or "")
        summary = entry.entry.get("summary")
        fallback = str(summary) if summary and str(summary).strip() else None
        if urlsplit(link).scheme not in ("http", "https"):
            return fallback
        host = urlsplit(link).netloc.lower()
        limit = self.hosts.setdefault(host, asyncio.Semaphore(PAGES_PER_HOST))
        try:
            async with limit, asyncio.timeout(self.total_timeout):
                response = await self._get(link, None)
        except (FetchError, httpx.HTTPError, httpx.InvalidURL, TimeoutError) as exc:
            log.warning("%s: linked page not read (%s); using the description", link, exc)
            return fallback
        decoded = decode_post(response.body, response.charset)
        if isinstance(decoded, Undecodable):
            return fallback
        body = await asyncio.to_thread(page_body_html, decoded, str(response.url))
        return body or fallback

    async def _get(self, url: str, validators: Validators | None) -> _Response:
        headers = {}
        if validators and validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators and validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(self.retry.attempts),
            wait=wait_exponential(multiplier=self.retry.first_wait, max=self.retry.max_wait),
            retry=retry_if_exception_type(
                (httpx.ConnectError, httpx.ConnectTimeout, _RetryableStatus)
            ),
            reraise=True,
        ):
            with attempt:
                return await self._get_once(url, headers)
        raise AssertionError("unreachable: tenacity either returns or reraises")

    async def _get_once(self, url: str, headers: dict[str, str]) -> _Response:
        async with self.client.stream("GET", url, headers=headers) as response:
            status = f"HTTP {response.status_code} {response.reason_phrase}".rstrip()
            if response.status_code in RETRYABLE_STATUSES:
                raise _RetryableStatus(f"{status} (gave up after {self.retry.attempts} attempts)")
            if response.status_code >= 400:
                raise FetchError(status)
            declared = response.headers.get("content-length")
            max_bytes = self.max_bytes
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise FetchError(f"response is {declared} bytes, larger than {max_bytes} bytes")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise FetchError(
                        f"response is larger than {max_bytes} bytes (download stopped)"
                    )
            return _Response(
                url=response.url,
                status_code=response.status_code,
                headers=response.headers,
                charset=response.charset_encoding,
                body=bytes(body),
            )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class _Response:
    url: httpx.URL
    status_code: int
    headers: httpx.Headers
    charset: str | None
    body: bytes


def _response_validators(headers: httpx.Headers, *, sent: Validators | None) -> Validators | None:
    """The response's validators; a 304 may omit one, and then the one we sent still holds."""
    etag = headers.get("etag") or (sent.etag if sent else None)
    last_modified = headers.get("last-modified") or (sent.last_modified if sent else None)
    if etag is None and last_modified is None:
        return None
    return Validators(etag=etag, last_modified=last_modified)


def _describe_http_error(
    error: httpx.HTTPError, client: httpx.AsyncClient, retry: RetryPolicy
) -> str:
    if isinstance(error, httpx.ConnectTimeout):
        return f"could not connect within {client.timeout.connect} s (tried {retry.attempts} times)"
    if isinstance(error, httpx.ReadTimeout):
        return f"no response within {client.timeout.read} s (read timeout)"
    if isinstance(error, httpx.TimeoutException):
        return f"timed out: {error}"
    if isinstance(error, httpx.ConnectError):
        return f"could not connect: {error} (tried {retry.attempts} times)"
    if isinstance(error, httpx.TooManyRedirects):
        return "too many redirects"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _url_filename(url: str) -> str | None:
    name = unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])
    return name or None

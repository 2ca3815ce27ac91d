"""Read raw post texts from a folder, a file, the URL of one post or the URL of a feed.

Nothing here parses a post: every source yields `RawPost`s (text plus the file name
the parser derives the key from) and `SourceFailure`s (one clear line each), so one
bad file or one dead server is reported and the rest goes on.
"""

from __future__ import annotations

import asyncio
import codecs
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

import feedparser  # type: ignore[import-untyped]
import httpx
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)
from tqdm import tqdm

from bot.ingest.feed import entry_filename, entry_html, entry_to_post_text, is_feed
from bot.ingest.xmlguard import entity_problem, unexpanded_entity

POST_SUFFIXES = frozenset({".md", ".markdown", ".html", ".txt"})
DEFAULT_MAX_POST_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_RESPONSE_BYTES = 20 * 1024 * 1024
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 10.0
DEFAULT_TOTAL_TIMEOUT = 120.0
USER_AGENT = "newsbot/0.1 (news ingest)"
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
_BINARY_SNIFF_BYTES = 8192

SourceKind = Literal["folder", "file", "url"]


@dataclass(frozen=True, slots=True)
class Validators:
    """What a server said about its response, sent back to ask "has it changed?"."""

    etag: str | None
    last_modified: str | None


@dataclass(frozen=True, slots=True)
class RawPost:
    origin: str
    filename: str | None
    text: str
    encoding: str = "utf-8"
    """What the bytes were decoded from, reported when it is not UTF-8."""


@dataclass(frozen=True, slots=True)
class SourceFailure:
    origin: str
    error: str


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
    failures: list[SourceFailure] = field(default_factory=list)
    validators: Validators | None = None
    not_modified: bool = False


class FetchError(Exception):
    """A fetch that failed for a reason worth one line in the report."""


class _RetryableStatus(FetchError):
    pass


@dataclass(frozen=True, slots=True)
class Undecodable:
    """Why some bytes are not a post (empty, binary, not text)."""

    error: str


def classify_source(source: str) -> SourceKind:
    """Tell a folder, a file and an http(s) URL apart; anything else is a ValueError."""
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
    """Post files under `folder`, recursively, in a stable order; hidden folders are skipped."""
    return sorted(
        path
        for path in folder.rglob("*")
        if path.suffix.lower() in POST_SUFFIXES
        and path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    )


def read_folder(
    folder: str | Path, *, progress: bool = False, max_bytes: int = DEFAULT_MAX_POST_BYTES
) -> Iterator[RawPost | SourceFailure]:
    """Every post file under `folder`; a progress bar on stderr when it is a terminal."""
    files = post_files(Path(folder).expanduser())
    shown = progress and sys.stderr.isatty()
    for path in tqdm(files, desc="reading", unit="file", disable=not shown, file=sys.stderr):
        yield read_file(path, max_bytes=max_bytes)


def read_file(
    path: str | Path, *, max_bytes: int = DEFAULT_MAX_POST_BYTES
) -> RawPost | SourceFailure:
    """One post file as UTF-8 text (a BOM is dropped), or the reason it cannot be one."""
    path = Path(path).expanduser()
    origin = str(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return SourceFailure(origin, f"file is {size} bytes, larger than {max_bytes} bytes")
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        return SourceFailure(origin, f"cannot read the file: {exc.strerror or exc}")
    if len(data) > max_bytes:
        return SourceFailure(origin, f"file is larger than {max_bytes} bytes")
    decoded = decode_post_bytes(data)
    if isinstance(decoded, Decoded):
        return RawPost(origin, path.name, decoded.text, decoded.encoding)
    return SourceFailure(origin, decoded.error)


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
) -> httpx.AsyncClient:
    """The client every fetch shares: bounded waits, redirects followed, a named agent."""
    return httpx.AsyncClient(
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
) -> FetchResult:
    """Fetch one post or one feed, conditionally when validators are given.

    Never raises for network or server trouble: that becomes a failure. `validators`
    in the result is what to remember for the next fetch of this URL. The read
    timeout bounds each wait for bytes; `total_timeout` bounds the whole fetch with
    its retries, so a server trickling a byte at a time cannot hold the ingest.
    """
    result = FetchResult(source=url, validators=validators)
    try:
        async with asyncio.timeout(total_timeout):
            response = await _get_with_retries(url, client, validators, max_bytes, retry)
    except FetchError as exc:
        result.failures.append(SourceFailure(url, str(exc)))
        return result
    except httpx.HTTPError as exc:
        result.failures.append(SourceFailure(url, _describe_http_error(exc, client, retry)))
        return result
    except httpx.InvalidURL as exc:
        result.failures.append(SourceFailure(url, f"invalid URL: {exc}"))
        return result
    except TimeoutError:
        result.failures.append(SourceFailure(url, f"not done within {total_timeout} s, gave up"))
        return result
    if response.status_code == 304:
        result.not_modified = True
        result.validators = _response_validators(response.headers, sent=validators)
        return result
    result.validators = _response_validators(response.headers, sent=None)
    if is_feed(response.body, response.headers.get("content-type")):
        result.posts, result.failures = feed_entries_to_posts(response.body, url)
        return result
    decoded = decode_post_bytes(response.body, response.charset)
    if isinstance(decoded, Decoded):
        result.posts.append(
            RawPost(url, _url_filename(str(response.url)), decoded.text, decoded.encoding)
        )
    else:
        result.failures.append(SourceFailure(url, decoded.error))
    return result


def feed_entries_to_posts(body: bytes, origin: str) -> tuple[list[RawPost], list[SourceFailure]]:
    """Each entry of an Atom/RSS feed as post text in the site's format."""
    refused = entity_problem(body)
    if refused:
        return [], [SourceFailure(origin, refused)]
    parsed = feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False)
    if parsed.bozo and not parsed.entries:
        return [], [SourceFailure(origin, f"not a readable feed: {parsed.bozo_exception}")]
    posts: list[RawPost] = []
    failures: list[SourceFailure] = []
    for number, entry in enumerate(parsed.entries, start=1):
        entry_origin = entry.get("link") or entry.get("id") or f"{origin}#entry-{number}"
        body_html = entry_html(entry)
        entity = unexpanded_entity(entry)
        if entity:
            failures.append(SourceFailure(entry_origin, f"unexpanded XML entity {entity}"))
            continue
        if body_html is None:
            failures.append(SourceFailure(entry_origin, "feed entry has no content or summary"))
            continue
        posts.append(
            RawPost(entry_origin, entry_filename(entry), entry_to_post_text(entry, body_html))
        )
    return posts, failures


@dataclass(frozen=True, slots=True)
class _Response:
    url: httpx.URL
    status_code: int
    headers: httpx.Headers
    charset: str | None
    body: bytes


async def _get_with_retries(
    url: str,
    client: httpx.AsyncClient,
    validators: Validators | None,
    max_bytes: int,
    retry: RetryPolicy,
) -> _Response:
    headers = {}
    if validators and validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators and validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    async for attempt in AsyncRetrying(
        stop=stop_after_attempt(retry.attempts),
        wait=wait_exponential(multiplier=retry.first_wait, max=retry.max_wait),
        retry=retry_if_exception_type((httpx.ConnectError, httpx.ConnectTimeout, _RetryableStatus)),
        reraise=True,
    ):
        with attempt:
            return await _get_once(url, client, headers, max_bytes, retry)
    raise AssertionError("unreachable: tenacity either returns or reraises")


async def _get_once(
    url: str,
    client: httpx.AsyncClient,
    headers: dict[str, str],
    max_bytes: int,
    retry: RetryPolicy,
) -> _Response:
    async with client.stream("GET", url, headers=headers) as response:
        status = f"HTTP {response.status_code} {response.reason_phrase}".rstrip()
        if response.status_code in RETRYABLE_STATUSES:
            raise _RetryableStatus(f"{status} (gave up after {retry.attempts} attempts)")
        if response.status_code >= 400:
            raise FetchError(status)
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise FetchError(f"response is {declared} bytes, larger than {max_bytes} bytes")
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > max_bytes:
                raise FetchError(f"response is larger than {max_bytes} bytes (download stopped)")
        return _Response(
            url=response.url,
            status_code=response.status_code,
            headers=response.headers,
            charset=response.charset_encoding,
            body=bytes(body),
        )


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

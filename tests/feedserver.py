"""A small HTTP server on 127.0.0.1 for fetch tests.

Routes are plain functions from a request to a reply, so a test states what the
server does (serve a feed with validators, fail, hang, stream without end) and then
reads back what the server saw.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Request:
    path: str
    headers: Mapping[str, str]


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | Iterable[bytes] = b""
    hang: bool = False


@dataclass
class Served:
    """One request as the server saw it and what it answered."""

    path: str
    headers: Mapping[str, str]
    status: int
    bytes_sent: int = 0


Route = Callable[[Request], Reply]


class FeedServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.served: list[Served] = []
        self._stop = threading.Event()
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, args=(0.05,), daemon=True)

    def url(self, path: str) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}{path}"

    def hits(self, path: str) -> list[Served]:
        return [served for served in self.served if served.path == path]

    def __enter__(self) -> FeedServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=5)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                request = Request(path, {k.lower(): v for k, v in self.headers.items()})
                route = server.routes.get(path)
                reply = route(request) if route else Reply(404, body=b"not found")
                served = Served(path, request.headers, reply.status)
                server.served.append(served)
                if reply.hang:
                    server._stop.wait(timeout=60)
                    return
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if isinstance(reply.body, bytes):
                    self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                chunks = [reply.body] if isinstance(reply.body, bytes) else reply.body
                try:
                    for chunk in chunks:
                        if server._stop.is_set():
                            break
                        self.wfile.write(chunk)
                        served.bytes_sent += len(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


def static(
    body: bytes,
    content_type: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
) -> Route:
    """Serve `body` like a static host does, answering 304 when the validators still match."""
    validators = {"ETag": etag, "Last-Modified": last_modified}
    headers = {"Content-Type": content_type} | {k: v for k, v in validators.items() if v}

    def route(request: Request) -> Reply:
        if etag and request.headers.get("if-none-match") == etag:
            return Reply(304, {k: v for k, v in validators.items() if v})
        since = request.headers.get("if-modified-since")
        if (
            last_modified
            and since
            and not etag
            and parsedate_to_datetime(since) >= parsedate_to_datetime(last_modified)
        ):
            return Reply(304, {"Last-Modified": last_modified})
        return Reply(200, dict(headers), body)

    return route


def status(code: int) -> Route:
    return lambda request: Reply(code, {"Content-Type": "text/plain"}, b"no luck")


def failing_first(times: int, code: int, then: Route) -> Route:
    """Fail `times` requests with `code`, then behave like `then`."""
    calls = 0

    def route(request: Request) -> Reply:
        nonlocal calls
        calls += 1
        return status(code)(request) if calls <= times else then(request)

    return route


def hanging() -> Route:
    return lambda request: Reply(hang=True)


def streamed(total: int, *, declare_length: bool = False, chunk: int = 64 * 1024) -> Route:
    """Stream `total` bytes of text in chunks, with or without announcing a Content-Length."""

    def chunks() -> Iterator[bytes]:
        for start in range(0, total, chunk):
            yield b"0" * min(chunk, total - start)

    headers = {"Content-Type": "text/plain"}
    if declare_length:
        headers["Content-Length"] = str(total)
    return lambda request: Reply(200, headers, chunks())


def trickle(*, every: float) -> Route:
    """Send one byte every `every` seconds, forever: each read succeeds, the whole never ends."""

    def drip() -> Iterator[bytes]:
        while True:
            time.sleep(every)
            yield b"0"

    return lambda request: Reply(200, {"Content-Type": "text/plain"}, drip())


# A news site of two articles, its RSS feed of teasers and a home page naming the feed.
ARTICLE = """<!doctype html><html><head><title>{title} - 新闻网</title>
<meta property="og:type" content="article">
<meta property="article:published_time" content="2022-05-26T09:30:00+08:00"></head>
<body><nav><a href="/">首页</a> <a href="/a">财经</a> <a href="/b">科技</a></nav>
<div class="sidebar"><ul><li>热门文章一</li><li>热门文章二</li></ul></div>
<article><h1>{title}</h1>
<p>{title}，中国人民银行今日以利率招标方式开展了一百亿元逆回购操作，中标利率持平。</p>
<p>市场人士表示，央行此举旨在维护银行体系流动性合理充裕，月末资金面总体平稳。</p>
<p>分析人士认为，后续货币政策仍将保持稳健，灵活精准，合理适度。</p>
</article><footer>版权所有 新闻网</footer></body></html>"""

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>新闻网</title><link>{home}</link>
{items}
</channel></rss>"""
ITEM = """<item><title>{title}</title><link>{link}</link><guid>{guid}</guid>
<pubDate>{date}</pubDate><category>财经</category><category>央行</category>
<description>只有摘要。</description></item>"""
HOME = """<!doctype html><html><head><title>新闻网</title>
<meta property="og:type" content="website">
<link rel="alternate" type="application/rss+xml" href="/rss.xml"></head>
<body><ul><li><a href="/news/1.html">一</a></li></ul></body></html>"""


def serve_rss(server: FeedServer, dates: list[str]) -> None:
    items = []
    for number, date in enumerate(dates, start=1):
        title = f"央行开展逆回购操作第{number}次"
        path = f"/news/{number}.html"
        server.routes[path] = static(ARTICLE.format(title=title).encode(), "text/html")
        items.append(
            ITEM.format(title=title, link=server.url(path), guid=f"urn:news:{number}", date=date)
        )
    rss = RSS.format(home=server.url("/"), items="\n".join(items)).encode()
    server.routes["/rss.xml"] = static(rss, "application/rss+xml")
    server.routes["/"] = static(HOME.encode(), "text/html")

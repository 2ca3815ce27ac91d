"""Reading posts from folders, single-post URLs and feeds served by a real local server."""

from __future__ import annotations

import re
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import frontmatter
import httpx
import pytest
from feedserver import (
    FeedServer,
    failing_first,
    hanging,
    static,
    status,
    streamed,
    trickle,
)
from markdown_it import MarkdownIt

from bot.ingest.feed import entry_html
from bot.ingest.feeds import entry_post_text, parse_feed
from bot.ingest.parser import parse_post
from bot.ingest.sources import (
    RawPost,
    RetryPolicy,
    Validators,
    classify_source,
    fetch_url,
    make_client,
    read_folder,
)
from storage.records import Failure

SITE_TZ = ZoneInfo("Asia/Shanghai")
SITE = "https://finews.example"
QUICK_RETRY = RetryPolicy(attempts=3, first_wait=0.01, max_wait=0.05)
ETAG = '"feed-v1"'
LAST_MODIFIED = "Wed, 25 May 2022 01:10:20 GMT"
MB = 1024 * 1024


def feed_entries_to_posts(body: bytes, origin: str) -> tuple[list[RawPost], list[Failure]]:
    """Each entry of an Atom/RSS feed as post text in the site's format (no page fetches:
    an entry with only a description gives that description)."""
    document = parse_feed(body, origin, None)
    failures = [Failure(o, error) for o, error in document.failures]
    posts = []
    for entry in document.entries:
        body_html = entry.html or entry_html(entry.entry)
        if body_html is None:
            failures.append(Failure(entry.origin, "feed entry has no content or summary"))
            continue
        text = entry_post_text(entry, body_html, jekyll=document.jekyll)
        posts.append(RawPost(entry.origin, entry.filename, text, key_hint=entry.key_hint))
    return posts, failures


# A handful of real posts, one per variant the feed must carry through: an NW share
# id with CRLF line ends, a date without offset and a one-paragraph Markdown body, a
# digest blockquote, escaped markup, an empty share link `<>`, and no share link at all.
FEED_POSTS = [
    "2022-04-20-NW202204202349852762.md",
    "2022-05-25-NW202205252390829633.md",
    "2021-12-08-202112082206672930.md",
    "2022-01-07-202201072239307540.md",
    "2022-05-26-202205262391921712.md",
    "2021-12-08-202112082206870651.md",
    "2021-12-01-init.md",
]
JEKYLL_POST_NAME = re.compile(r"^\d{4}-\d{2}-\d{2}-.+\.md$")
SHARE_LINE = re.compile(r"^<[^>\s]*>$", re.M)


def jekyll_date(value: object, filename: str) -> datetime:
    """The post date as Jekyll reads it: front matter first, the file name otherwise."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=SITE_TZ)
    if isinstance(value, str) and value.strip() and value.strip()[0].isdigit():
        text = value.strip()
        layout = "%Y-%m-%d %H:%M:%S %z" if "+" in text else "%Y-%m-%d %H:%M:%S"
        moment = datetime.strptime(text, layout)
        return moment if moment.tzinfo else moment.replace(tzinfo=SITE_TZ)
    return datetime.strptime(filename[:10], "%Y-%m-%d").replace(tzinfo=SITE_TZ)


def jekyll_feed(paths: list[Path]) -> bytes:
    """An Atom feed as jekyll-feed writes it.

    The body is rendered from Markdown to HTML, tags become `<category term>`s, the
    category lives only in the default permalink `/:categories/:year/:month/:day/:title`.
    """
    markdown = MarkdownIt("commonmark")
    atom = "http://www.w3.org/2005/Atom"
    ET.register_namespace("", atom)
    feed = ET.Element(f"{{{atom}}}feed")
    ET.SubElement(feed, f"{{{atom}}}title").text = "finews"
    ET.SubElement(feed, f"{{{atom}}}id").text = f"{SITE}/"
    ET.SubElement(feed, f"{{{atom}}}updated").text = "2022-05-26T10:00:00+08:00"
    for path in paths:
        post = frontmatter.loads(path.read_text("utf-8-sig"))
        published = jekyll_date(post.get("date"), path.name)
        tags = post.get("tags") or []
        permalink = f"{SITE}/{post['categories']}/{published:%Y/%m/%d}/{path.stem[11:]}"
        entry = ET.SubElement(feed, f"{{{atom}}}entry")
        ET.SubElement(entry, f"{{{atom}}}title", type="html").text = str(post.get("title") or "")
        ET.SubElement(entry, f"{{{atom}}}link", href=f"{permalink}.html", rel="alternate")
        ET.SubElement(entry, f"{{{atom}}}published").text = published.isoformat()
        ET.SubElement(entry, f"{{{atom}}}updated").text = published.isoformat()
        ET.SubElement(entry, f"{{{atom}}}id").text = permalink
        content = ET.SubElement(entry, f"{{{atom}}}content", type="html")
        content.text = markdown.render(post.content).strip()
        for tag in [tags] if isinstance(tags, str) else tags:
            ET.SubElement(entry, f"{{{atom}}}category", term=tag)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


@pytest.fixture
def feed_files(corpus_dir: Path) -> list[Path]:
    return [corpus_dir / name for name in FEED_POSTS]


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(connect_timeout=2, read_timeout=2, allow_private=True) as shared:
        yield shared


def serve_feed(server: FeedServer, files: list[Path], content_type: str) -> str:
    server.routes["/feed.xml"] = static(
        jekyll_feed(files), content_type, etag=ETAG, last_modified=LAST_MODIFIED
    )
    return server.url("/feed.xml")


# --- feeds ----------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["application/atom+xml", "text/plain; charset=utf-8"])
async def test_a_feed_gives_one_post_per_entry_named_like_its_file(
    server: FeedServer, client: httpx.AsyncClient, feed_files: list[Path], content_type: str
) -> None:
    url = serve_feed(server, feed_files, content_type)

    result = await fetch_url(url, client=client, retry=QUICK_RETRY)

    assert result.failures == []
    assert not result.not_modified
    assert result.validators == Validators(etag=ETAG, last_modified=LAST_MODIFIED)
    assert [post.filename for post in result.posts] == FEED_POSTS
    for original, post in zip(feed_files, result.posts, strict=True):
        source = frontmatter.loads(original.read_text("utf-8-sig"))
        fed = frontmatter.loads(post.text)
        assert fed["title"] == source["title"]
        assert fed["categories"] == source["categories"]
        assert fed["tags"] == source["tags"]
        assert SHARE_LINE.findall(fed.content) == SHARE_LINE.findall(source.content)
        assert "返回" not in post.text
        assert post.origin.startswith(f"{SITE}/{source['categories']}/")


async def test_feed_posts_parse_like_their_files(
    server: FeedServer, client: httpx.AsyncClient, feed_files: list[Path]
) -> None:
    url = serve_feed(server, feed_files, "application/atom+xml")

    result = await fetch_url(url, client=client, retry=QUICK_RETRY)

    for original, post in zip(feed_files, result.posts, strict=True):
        from_file = parse_post(original.read_text("utf-8-sig"), original.name, tz=SITE_TZ)
        from_feed = parse_post(post.text, post.filename, tz=SITE_TZ)
        assert from_feed.key == from_file.key
        assert replace(from_feed, key="", content_hash="") == replace(
            from_file, key="", content_hash=""
        )


def test_every_dated_corpus_post_survives_a_round_trip_through_a_feed(
    corpus_files: list[Path],
) -> None:
    """Jekyll publishes the files named `YYYY-MM-DD-title.md`; each must read back as itself."""
    published = [path for path in corpus_files if JEKYLL_POST_NAME.match(path.name)]

    posts, failures = feed_entries_to_posts(jekyll_feed(published), f"{SITE}/feed.xml")

    assert failures == []
    assert len(published) > 160
    assert [post.filename for post in posts] == [path.name for path in published]
    for original, post in zip(published, posts, strict=True):
        from_file = parse_post(original.read_text("utf-8-sig"), original.name, tz=SITE_TZ)
        from_feed = parse_post(post.text, post.filename, tz=SITE_TZ)
        assert from_feed.key == from_file.key
        assert replace(from_feed, key="", content_hash="") == replace(
            from_file, key="", content_hash=""
        )


@pytest.mark.parametrize(("etag", "header"), [(ETAG, "if-none-match"), (None, "if-modified-since")])
async def test_a_second_fetch_is_conditional_and_yields_nothing(
    server: FeedServer,
    client: httpx.AsyncClient,
    feed_files: list[Path],
    etag: str | None,
    header: str,
) -> None:
    server.routes["/feed.xml"] = static(
        jekyll_feed(feed_files), "application/atom+xml", etag=etag, last_modified=LAST_MODIFIED
    )
    url = server.url("/feed.xml")
    first = await fetch_url(url, client=client, retry=QUICK_RETRY)

    second = await fetch_url(url, client=client, validators=first.validators, retry=QUICK_RETRY)

    assert len(first.posts) == len(FEED_POSTS)
    assert second.not_modified
    assert second.posts == [] and second.failures == []
    assert second.validators == first.validators
    asked_again = server.hits("/feed.xml")[1]
    assert asked_again.headers[header] == (etag or LAST_MODIFIED)
    assert asked_again.status == 304


async def test_a_hanging_server_is_reported_quickly(server: FeedServer) -> None:
    server.routes["/feed.xml"] = hanging()

    started = time.monotonic()
    async with make_client(connect_timeout=0.5, read_timeout=0.5, allow_private=True) as impatient:
        result = await fetch_url(server.url("/feed.xml"), client=impatient, retry=QUICK_RETRY)
    elapsed = time.monotonic() - started

    assert result.posts == []
    assert result.failures == [
        Failure(server.url("/feed.xml"), "no response within 0.5 s (read timeout)")
    ]
    assert elapsed < 2


async def test_a_trickling_server_is_cut_off_by_the_total_timeout(server: FeedServer) -> None:
    server.routes["/feed.xml"] = trickle(every=0.05)

    started = time.monotonic()
    async with make_client(connect_timeout=0.5, read_timeout=0.5, allow_private=True) as impatient:
        result = await fetch_url(
            server.url("/feed.xml"), client=impatient, retry=QUICK_RETRY, total_timeout=1
        )

    assert [failure.error for failure in result.failures] == ["not done within 1 s, gave up"]
    assert server.hits("/feed.xml")[0].bytes_sent > 1
    assert time.monotonic() - started < 3


@pytest.mark.parametrize(
    ("code", "reason"),
    [(500, "Internal Server Error"), (503, "Service Unavailable"), (429, "Too Many Requests")],
)
async def test_a_server_error_is_retried_then_reported(
    server: FeedServer, client: httpx.AsyncClient, code: int, reason: str
) -> None:
    server.routes["/feed.xml"] = status(code)

    result = await fetch_url(server.url("/feed.xml"), client=client, retry=QUICK_RETRY)

    assert len(server.hits("/feed.xml")) == QUICK_RETRY.attempts
    assert result.posts == []
    assert result.failures == [
        Failure(server.url("/feed.xml"), f"HTTP {code} {reason} (gave up after 3 attempts)")
    ]


async def test_a_server_that_recovers_within_the_retries_is_read(
    server: FeedServer, client: httpx.AsyncClient, feed_files: list[Path]
) -> None:
    feed = static(jekyll_feed(feed_files[:2]), "application/atom+xml")
    server.routes["/feed.xml"] = failing_first(2, 503, then=feed)

    result = await fetch_url(server.url("/feed.xml"), client=client, retry=QUICK_RETRY)

    assert [hit.status for hit in server.hits("/feed.xml")] == [503, 503, 200]
    assert [post.filename for post in result.posts] == FEED_POSTS[:2]
    assert result.failures == []


async def test_a_missing_page_is_reported_without_retrying(
    server: FeedServer, client: httpx.AsyncClient
) -> None:
    result = await fetch_url(server.url("/nowhere.xml"), client=client, retry=QUICK_RETRY)

    assert len(server.hits("/nowhere.xml")) == 1
    assert [failure.error for failure in result.failures] == ["HTTP 404 Not Found"]


@pytest.mark.parametrize("declare_length", [False, True])
async def test_a_50_mb_response_is_cut_off_at_the_limit(
    server: FeedServer, client: httpx.AsyncClient, declare_length: bool
) -> None:
    server.routes["/huge"] = streamed(50 * MB, declare_length=declare_length)

    started = time.monotonic()
    result = await fetch_url(server.url("/huge"), client=client, max_bytes=MB, retry=QUICK_RETRY)

    assert result.posts == []
    [failure] = result.failures
    assert f"larger than {MB} bytes" in failure.error
    assert time.monotonic() - started < 5
    assert server.hits("/huge")[0].bytes_sent < 50 * MB


async def test_an_unreachable_server_is_retried_then_reported(client: httpx.AsyncClient) -> None:
    with FeedServer() as gone:
        url = gone.url("/feed.xml")

    result = await fetch_url(url, client=client, retry=QUICK_RETRY)

    [failure] = result.failures
    assert failure.error.startswith("could not connect")
    assert failure.error.endswith("(tried 3 times)")


async def test_a_single_post_url_gives_that_post(
    server: FeedServer, client: httpx.AsyncClient, feed_files: list[Path]
) -> None:
    original = feed_files[0]
    server.routes[f"/_posts/{original.name}"] = static(
        original.read_bytes(), "text/plain; charset=utf-8", etag='"post"'
    )
    url = server.url(f"/_posts/{original.name}")

    result = await fetch_url(url, client=client, retry=QUICK_RETRY)

    assert result.posts == [RawPost(url, original.name, original.read_bytes().decode())]
    assert result.validators == Validators(etag='"post"', last_modified=None)
    parsed = parse_post(result.posts[0].text, result.posts[0].filename, tz=SITE_TZ)
    assert parsed.key == "NW202204202349852762"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain; charset=iso-8859-1", "标题：沪指".encode()),
        ("text/plain; charset=gbk", "标题：沪指".encode("gbk")),
    ],
)
async def test_a_post_is_read_as_utf8_first_then_in_its_declared_charset(
    server: FeedServer, client: httpx.AsyncClient, content_type: str, body: bytes
) -> None:
    server.routes["/post.md"] = static(body, content_type)

    result = await fetch_url(server.url("/post.md"), client=client, retry=QUICK_RETRY)

    assert [post.text for post in result.posts] == ["标题：沪指"]


async def test_an_undeclared_gbk_post_is_decoded_and_says_so(
    server: FeedServer, client: httpx.AsyncClient
) -> None:
    server.routes["/post.md"] = static("标题：沪指".encode("gbk"), "text/plain")

    result = await fetch_url(server.url("/post.md"), client=client, retry=QUICK_RETRY)

    assert [(post.text, post.encoding) for post in result.posts] == [("标题：沪指", "GBK")]


async def test_a_post_in_no_known_charset_is_reported(
    server: FeedServer, client: httpx.AsyncClient
) -> None:
    server.routes["/post.md"] = static(b"title \xff\xfe\xff", "text/plain")

    result = await fetch_url(server.url("/post.md"), client=client, retry=QUICK_RETRY)

    assert result.posts == []
    assert [failure.error for failure in result.failures] == [
        "not UTF-8 text: invalid byte 0xff at offset 6"
    ]


async def test_a_binary_download_is_not_a_post(
    server: FeedServer, client: httpx.AsyncClient
) -> None:
    server.routes["/logo.png"] = static(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png")

    result = await fetch_url(server.url("/logo.png"), client=client, retry=QUICK_RETRY)

    assert [failure.error for failure in result.failures] == [
        "binary file (contains NUL bytes), not a text post"
    ]


def test_a_broken_feed_is_one_failure() -> None:
    cut_short = b"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'><title>fin"
    posts, failures = feed_entries_to_posts(cut_short, "f")

    assert posts == []
    assert [failure.source for failure in failures] == ["f"]
    assert failures[0].error.startswith("not a readable feed:")


def test_an_rss_entry_becomes_a_post_with_its_date_and_tags() -> None:
    rss = """<?xml version="1.0" encoding="utf-8"?>
    <rss version="2.0"><channel><title>t</title>
      <item>
        <title>央行开展逆回购操作</title>
        <link>http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW202205262391900001</link>
        <pubDate>Thu, 26 May 2022 09:30:00 +0800</pubDate>
        <category>央行网站新闻</category>
        <description>&lt;p&gt;央行今日开展逆回购操作。&lt;/p&gt;</description>
      </item>
    </channel></rss>""".encode()

    [post], failures = feed_entries_to_posts(rss, "rss")

    assert failures == []
    assert post.filename == "2022-05-26-NW202205262391900001.md"
    fed = frontmatter.loads(post.text)
    assert fed["title"] == "央行开展逆回购操作"
    assert fed["date"] == "2022-05-26 09:30:00 +0800"
    assert fed["tags"] == "央行网站新闻"
    assert fed["categories"] == "央行网站新闻"
    assert fed.content == "<p>央行今日开展逆回购操作。</p>"


# --- folders --------------------------------------------------------------------------

GOOD_POST = """---
layout: post
title: "{title}"
date: 2022-05-0{day} 09:00:00 +0800
categories: emnews
tags: 东财滚动新闻
---
<p>{title}。</p>

<http://finance.eastmoney.com/news/1354,2022050{day}23000000{day}.html>

[返回东财滚动新闻](../emnews/)｜[返回首页](../)
"""


@pytest.fixture
def mixed_folder(tmp_path: Path) -> Path:
    """Good posts in every suffix and a nested folder, next to files that cannot be posts."""
    (tmp_path / "nested" / "deeper").mkdir(parents=True)
    (tmp_path / ".git").mkdir()
    good = {
        "2022-05-01-202205012300000001.md": GOOD_POST.format(title="沪指收涨", day=1),
        "nested/2022-05-02-202205022300000002.markdown": GOOD_POST.format(title="深指", day=2),
        "nested/deeper/2022-05-03-202205032300000003.html": GOOD_POST.format(title="创", day=3),
        "2022-05-04-202205042300000004.txt": GOOD_POST.format(title="北证", day=4),
        "broken-yaml.md": '---\ntitle: "unclosed\ndate: [\n---\n<p>x</p>\n',
        "no-front-matter.md": "<p>只有正文，没有头信息。</p>\n",
        "impossible-date.md": GOOD_POST.format(title="日期", day=9).replace("05-09", "02-31"),
    }
    for name, text in good.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "bom.md").write_bytes(b"\xef\xbb\xbf" + GOOD_POST.format(title="B", day=5).encode())
    (tmp_path / "binary.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (tmp_path / "empty.md").write_bytes(b"")
    (tmp_path / "blank.md").write_text("\n  \n", encoding="utf-8")
    (tmp_path / "gbk.md").write_bytes(GOOD_POST.format(title="国标码", day=6).encode("gbk"))
    with (tmp_path / "huge.md").open("w", encoding="utf-8") as huge:
        huge.write(GOOD_POST.format(title="巨大", day=7))
        huge.write("<p>" + "涨" * (20 * MB // 3) + "</p>\n")
    (tmp_path / "picture.png").write_bytes(b"\x89PNG\r\n")
    (tmp_path / ".git" / "HEAD.md").write_text("hidden", encoding="utf-8")
    return tmp_path


def test_a_folder_gives_its_good_posts_and_one_clear_failure_per_bad_file(
    mixed_folder: Path,
) -> None:
    items = list(read_folder(mixed_folder))

    origins = [item.origin if isinstance(item, RawPost) else item.source for item in items]
    posts = {
        Path(o).relative_to(mixed_folder).as_posix(): i for o, i in zip(origins, items, strict=True)
    }
    read = sorted(name for name, item in posts.items() if isinstance(item, RawPost))
    failed = {name: item.error for name, item in posts.items() if isinstance(item, Failure)}
    assert read == [
        "2022-05-01-202205012300000001.md",
        "2022-05-04-202205042300000004.txt",
        "bom.md",
        "broken-yaml.md",
        "gbk.md",
        "impossible-date.md",
        "nested/2022-05-02-202205022300000002.markdown",
        "nested/deeper/2022-05-03-202205032300000003.html",
        "no-front-matter.md",
    ]
    huge_size = (mixed_folder / "huge.md").stat().st_size
    assert failed == {
        "binary.md": "binary file (contains NUL bytes), not a text post",
        "blank.md": "empty file (only whitespace)",
        "empty.md": "empty file",
        "huge.md": f"file is {huge_size} bytes, larger than {5 * MB} bytes",
    }
    gbk = posts["gbk.md"]
    assert isinstance(gbk, RawPost) and gbk.encoding == "GBK" and "国标码" in gbk.text
    assert origins == sorted(origins)


def test_folder_posts_keep_their_text_and_file_name(mixed_folder: Path) -> None:
    posts = [item for item in read_folder(mixed_folder) if isinstance(item, RawPost)]

    by_name = {post.filename: post for post in posts}
    assert by_name["bom.md"].text == GOOD_POST.format(title="B", day=5)
    assert by_name["2022-05-01-202205012300000001.md"].text == (
        mixed_folder / "2022-05-01-202205012300000001.md"
    ).read_text(encoding="utf-8")


def test_the_post_size_limit_is_configurable(mixed_folder: Path) -> None:
    items = list(read_folder(mixed_folder / "nested", max_bytes=100))

    assert [type(item) for item in items] == [Failure, Failure]
    assert all("larger than 100 bytes" in item.error for item in items)


def test_the_corpus_folder_reads_without_failures(
    corpus_dir: Path, corpus_files: list[Path]
) -> None:
    items = list(read_folder(corpus_dir))

    assert [item for item in items if isinstance(item, Failure)] == []
    assert [item.filename for item in items] == [path.name for path in corpus_files]


def test_progress_is_drawn_only_on_a_terminal(
    mixed_folder: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    list(read_folder(mixed_folder, progress=True))
    assert capsys.readouterr().err == ""

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    list(read_folder(mixed_folder, progress=True))
    assert "13/13" in capsys.readouterr().err

    list(read_folder(mixed_folder, progress=False))
    assert capsys.readouterr().err == ""


# --- telling sources apart ------------------------------------------------------------


def test_sources_are_told_apart(tmp_path: Path) -> None:
    post = tmp_path / "post.md"
    post.write_text("x", encoding="utf-8")

    assert classify_source(str(tmp_path)) == "folder"
    assert classify_source(str(post)) == "file"
    assert classify_source("https://finews.example/feed.xml") == "url"
    assert classify_source("http://127.0.0.1:8000/_posts/a.md") == "url"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("/no/such/folder", "/no/such/folder: no such file or folder"),
        ("ftp://finews.example/feed.xml", "unsupported URL scheme 'ftp'"),
        ("https:///feed.xml", "the URL has no host"),
    ],
)
def test_a_bad_source_is_a_clear_value_error(source: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        classify_source(source)

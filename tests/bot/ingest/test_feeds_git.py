"""Git sources between runs, any feed (RSS teasers, JSON Feed, discovery) and gap detection."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from feedserver import ARTICLE, FeedServer, serve_rss, static
from gitrepo import git

from bot.ingest import sources as src
from bot.ingest.git_source import clone_path, read_git
from bot.ingest.pages import page_to_post
from bot.ingest.pipeline import ingest, prepare
from bot.ingest.timerule import TimeRule, parse_time_rule
from bot.services.replies import Notice, SourcePreview, Viewer
from bot.services.sources import add_source
from bot.settings import Settings, load_settings
from storage.db import Database
from storage.records import ArticleRecord
from storage.sources import SourceRepository

NAMES = [
    "2021-12-08-202112082206672930.md",
    "2022-01-07-202201072239307540.md",
    "2022-04-20-NW202204202349852762.md",
    "2022-05-25-NW202205252390829633.md",
]


def commit(repo: Path, corpus_dir: Path, names: list[str], message: str) -> str:
    for name in names:
        shutil.copyfile(corpus_dir / name, repo / "_posts" / name)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def origin(tmp_path: Path, corpus_dir: Path) -> Path:
    repo = tmp_path / "origin"
    (repo / "_posts").mkdir(parents=True)
    (repo / "README.md").write_text("not a post\n")
    git(repo, "init", "-q", "-b", "main")
    commit(repo, corpus_dir, NAMES[:2], "two posts")
    return repo


def test_a_git_source_reads_only_what_changed_and_survives_force_push_and_lost_clone(
    origin: Path, corpus_dir: Path, tmp_path: Path
) -> None:
    source, clones = f"git+file://{origin}#main", tmp_path / "clones"

    first = read_git(source, clones, None)
    assert (first.full, first.files_read, first.failures) == (True, 2, [])
    assert sorted(p.filename for p in first.posts) == NAMES[:2]

    head = commit(origin, corpus_dir, NAMES[2:3], "one more")
    second = read_git(source, clones, first.commit)
    assert (second.full, second.files_read, second.commit) == (False, 1, head)
    assert [p.filename for p in second.posts] == NAMES[2:3]

    assert read_git(source, clones, head).files_read == 0

    git(origin, "reset", "-q", "--hard", "HEAD~1")
    rewritten = commit(origin, corpus_dir, NAMES[3:], "rewritten")
    forced = read_git(source, clones, head)
    assert forced.full and forced.commit == rewritten
    assert sorted(p.filename for p in forced.posts) == [*NAMES[:2], NAMES[3]]

    shutil.rmtree(clone_path(clones, source))
    lost = read_git(source, clones, rewritten)
    assert lost.full and lost.files_read == 3


async def test_git_runs_store_each_post_once_and_keep_the_commit(
    origin: Path, corpus_dir: Path, tmp_path: Path, database: Database
) -> None:
    settings = test_settings(tmp_path)
    source = f"git+file://{origin}"
    first = await ingest(database, [source], settings=settings)
    assert (first.added, first.failed) == (2, [])
    head = commit(origin, corpus_dir, NAMES[2:], "two more")
    second = await ingest(database, [source], settings=settings)
    assert (second.added, second.unchanged) == (2, 0)
    shutil.rmtree(clone_path(settings.ingest.git_dir, source))
    third = await ingest(database, [source], settings=settings)
    assert (third.added, third.updated, third.unchanged) == (0, 0, 4)
    async with database.session() as session:
        row = await SourceRepository(session).by_location(source)
    assert row is not None and row.commit == head and row.items_seen == 4


def test_settings(tmp_path: Path) -> Settings:
    base = load_settings()
    return base.model_copy(
        update={
            "allow_private_sources": True,
            "ingest": base.ingest.model_copy(update={"git_dir": tmp_path / "git"}),
        }
    )


test_settings.__test__ = False  # type: ignore[attr-defined]


def record_of(raw: src.RawPost) -> ArticleRecord:
    record = prepare(raw, UTC)
    assert isinstance(record, ArticleRecord), record
    return record


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with src.make_client(allow_private=True, connect_timeout=2, read_timeout=5) as made:
        yield made


async def test_rss_teasers_fetch_their_pages_and_a_home_page_finds_its_feed(
    server: FeedServer, client: httpx.AsyncClient
) -> None:
    serve_rss(server, ["Thu, 26 May 2022 09:30:00 +0800", "Thu, 26 May 2022 10:30:00 +0800"])

    for url in (server.url("/rss.xml"), server.url("/")):
        result = await src.fetch_url(url, client=client)
        assert result.failures == [] and result.name == "新闻网"
        assert len(result.posts) == 2
        records = [record_of(raw) for raw in result.posts]
        for number, record in enumerate(records, start=1):
            assert record.title == f"央行开展逆回购操作第{number}次"
            paragraphs = [text for text, _ in record.paragraphs]
            assert any("一百亿元逆回购" in p for p in paragraphs)
            assert not any("热门文章" in p or "版权所有" in p for p in paragraphs)
            assert record.category == "财经"
            assert record.tags == ("财经", "央行")
        keys = {r.key for r in records}
        assert len(keys) == 2
    # Discovery says which feed it followed, to be followed instead of the page.
    assert (await src.fetch_url(server.url("/"), client=client)).feed_url == server.url("/rss.xml")


async def test_a_json_feed_gives_its_items_keyed_by_id(
    server: FeedServer, client: httpx.AsyncClient
) -> None:
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "JSON 新闻",
        "items": [
            {
                "id": "a-1",
                "url": server.url("/a/1"),
                "title": "第一条",
                "content_html": "<p>第一条新闻的正文，内容完整。</p>",
                "date_published": "2022-05-26T09:30:00+08:00",
                "tags": ["科技"],
            },
            {
                "id": "a-2",
                "title": "第二条",
                "content_text": "第二条新闻的正文。\n第二段。",
                "date_published": "2022-05-26T10:30:00+08:00",
            },
        ],
    }
    server.routes["/feed.json"] = static(json.dumps(feed).encode(), "application/feed+json")

    result = await src.fetch_url(server.url("/feed.json"), client=client)

    assert result.failures == [] and result.name == "JSON 新闻"
    first, second = (record_of(raw) for raw in result.posts)
    assert first.title == "第一条" and first.tags == ("科技",)
    assert second.paragraphs == [("第二条新闻的正文。", False), ("第二段。", False)]
    assert first.published_at == datetime(2022, 5, 26, 1, 30, tzinfo=UTC)
    assert first.key != second.key


async def test_a_feed_whose_entries_are_all_newer_than_the_last_read_is_a_gap(
    server: FeedServer, database: Database, tmp_path: Path
) -> None:
    settings = test_settings(tmp_path)
    serve_rss(server, ["Thu, 26 May 2022 09:30:00 +0800", "Thu, 26 May 2022 10:30:00 +0800"])
    url = server.url("/rss.xml")
    first = await ingest(database, [url], settings=settings)
    assert first.gaps == [] and first.added == 2

    # Overlapping with what was read: no gap.
    serve_rss(server, ["Thu, 26 May 2022 10:30:00 +0800", "Thu, 26 May 2022 11:30:00 +0800"])
    assert (await ingest(database, [url], settings=settings)).gaps == []

    # Every entry newer than the newest seen: posts in between may have been dropped.
    serve_rss(server, ["Thu, 26 May 2022 12:30:00 +0800", "Thu, 26 May 2022 13:30:00 +0800"])
    third = await ingest(database, [url], settings=settings)
    assert third.gaps == [url]
    async with database.session() as session:
        row = await SourceRepository(session).by_location(url)
    assert row is not None and row.gap_count == 1 and row.name == "新闻网"
    assert row.newest_item_at is not None
    assert row.newest_item_at.astimezone(UTC) == datetime(2022, 5, 26, 5, 30, tzinfo=UTC)


def test_the_time_rule_setting() -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    jekyll_time = datetime(2021, 12, 1, 21, 33, 50, tzinfo=timezone(timedelta(hours=8)))
    assert parse_time_rule(None, shanghai) == TimeRule(shanghai)
    assert parse_time_rule("Europe/Berlin", shanghai) == TimeRule(ZoneInfo("Europe/Berlin"))
    undo = parse_time_rule("jekyll-utc", shanghai)
    assert undo == TimeRule(shanghai, jekyll_utc=True)
    assert undo.rendered(jekyll_time) == datetime(2021, 12, 1, 13, 33, 50, tzinfo=shanghai)
    assert TimeRule(shanghai).rendered(jekyll_time) == jekyll_time
    assert TimeRule(shanghai).rendered(datetime(2021, 12, 1, 8)).tzinfo == shanghai
    assert parse_time_rule("jekyll-utc:UTC", shanghai) == TimeRule(ZoneInfo("UTC"), True)
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Base'"):
        parse_time_rule("Mars/Base", shanghai)


async def test_addsource_takes_a_git_repository_with_the_jekyll_time_rule(
    origin: Path, tmp_path: Path, database: Database
) -> None:
    settings = test_settings(tmp_path).model_copy(update={"local_source_roots": [str(tmp_path)]})
    admin = Viewer(user_id=1, is_admin=True)

    preview = await add_source(database, settings, [f"git+file://{origin}", "tz=jekyll-utc"], admin)

    assert isinstance(preview, SourcePreview)
    assert (preview.kind, preview.found, preview.tz) == ("git", 2, "jekyll-utc")
    assert preview.saved_id is not None and preview.failures == ()
    refused = await add_source(database, settings, [f"git+file://{origin}", "tz=Mars/Base"], admin)
    assert isinstance(refused, Notice) and refused.message == "addsource_bad_tz"


def test_a_page_cannot_claim_another_sites_canonical_address() -> None:
    page = ARTICLE.format(title="冒名文章").replace(
        "</head>",
        '<link rel="canonical" href="https://finews.example/emnews/2021/12/08/'
        '202112082206703990.html"></head>',
    )
    own = page.replace("https://finews.example", "http://127.0.0.1:8000")
    url = "http://127.0.0.1:8000/news/9.html"

    foreign = page_to_post(page, url, None)
    same_site = page_to_post(own, url, None)

    assert foreign is not None and foreign.url == url
    assert record_of(src.RawPost(url, foreign.filename, foreign.text)).key != "202112082206703990"
    assert same_site is not None and same_site.url.endswith("202112082206703990.html")


def test_a_page_of_another_site_is_filed_under_its_first_tag() -> None:
    """A page without Jekyll's post container (read by trafilatura) has no permalink category:
    its first `article:tag` files it, as a feed entry's first category does."""
    tags = (
        '<meta property="article:tag" content="央行"><meta property="article:tag" content="利率">'
    )
    page = ARTICLE.format(title="逆回购操作").replace("</head>", tags + "</head>")
    jekyll = page.replace("<article>", '<article><div class="post-content">').replace(
        "</article>", "</div></article>"
    )

    foreign = page_to_post(page, "http://127.0.0.1:8000/news/7.html", None)
    own = page_to_post(jekyll, "http://127.0.0.1:8000/news/8.html", None)

    assert foreign is not None and own is not None
    foreign_record = record_of(src.RawPost(foreign.url, foreign.filename, foreign.text))
    own_record = record_of(src.RawPost(own.url, own.filename, own.text))
    assert foreign_record.category == "央行"
    assert own_record.category != "央行"

"""Safe sources and managing them: refusals (private addresses at every hop, paths outside the
roots, nothing quoted from a file), /addsource, /sources, /removesource and their buttons over
the fake Bot API, gap warnings, honest "not modified" reports, and backoff."""

from __future__ import annotations

import asyncio
import html
import ipaddress
import json
import os
import subprocess
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpcore
import httpx
import pytest
from bot_harness import ADMIN_ID, DEMO_DIR, USER_ID, Conversation, bot_settings, button_data, only
from fakebotapi import Call, FakeBotAPI
from feedserver import FeedServer, Reply, serve_rss, static

from bot.app import build_application
from bot.cli.main import main
from bot.i18n import text
from bot.ingest import guard
from bot.ingest import sources as src
from bot.ingest.pipeline import backoff_delay, ingest
from bot.render.html import RenderContext, render
from bot.services.replies import IngestSummary
from bot.settings import Settings, load_settings
from storage.db import Database
from storage.sources import SourceRepository

DEMO_POST = DEMO_DIR / "2026-11-20-NW202611200900000001.md"
PUBLIC_IP = "93.184.216.34"
ETAG = '"demo-1"'
INGEST_WAIT = 90.0
"""Seconds to wait for a background ingest's report (the first loads jieba; CI may be busy)."""


def sent_texts(calls: Iterable[Call]) -> list[str]:
    return [html.unescape(c.params["text"]) for c in calls if c.method == "sendMessage"]


# --- the address and path rules -------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.100.100.200",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "::ffff:127.0.0.1",
        "fe80::1",
        "fd00:ec2::254",
    ],
)
def test_non_public_addresses_are_blocked(address: str) -> None:
    assert guard.blocked_reason(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", [PUBLIC_IP, "2606:2800:220:1:248:1893:25c8:1946"])
def test_public_addresses_pass(address: str) -> None:
    assert guard.blocked_reason(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/feed.xml",
        "http://10.0.0.1/feed.xml",
        "http://169.254.169.254/latest/meta-data/",
        "https://[::1]/feed.xml",
        "git+https://10.0.0.1/owner/repo.git",
    ],
)
async def test_urls_to_private_hosts_are_refused_before_any_request(url: str) -> None:
    with pytest.raises(guard.SourceRefused) as refused:
        await guard.vet_source(url, roots=[], allow_private=False)
    assert refused.value.reason == "private_address"
    assert "NEWSBOT_ALLOW_PRIVATE_SOURCES" in str(refused.value)
    assert await guard.vet_source(url, roots=[], allow_private=True) == url


async def test_a_name_resolving_to_a_private_address_is_refused() -> None:
    async def rebinding(host: str, port: int) -> list[str]:
        return [PUBLIC_IP, "10.1.2.3"]  # one bad address is enough to refuse

    with pytest.raises(guard.SourceRefused, match=r"news\.example is a private address"):
        await guard.vet_source(
            "https://news.example/feed.xml", roots=[], allow_private=False, resolve=rebinding
        )


def test_paths_must_lie_under_the_roots_after_resolving_symlinks(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "posts").mkdir(parents=True)
    outside.mkdir()
    secret = outside / "secret.md"
    secret.write_text("SECRET=hunter2\n", encoding="utf-8")
    (root / "escape.md").symlink_to(secret)
    roots = guard.allowed_roots([str(root)], [])

    assert guard.check_local_path(str(root / "posts"), roots) == (root / "posts").resolve()
    for path in (secret, root / "escape.md", root / "posts" / ".." / ".." / "outside", "/etc"):
        with pytest.raises(guard.SourceRefused) as refused:
            guard.check_local_path(str(path), roots)
        assert refused.value.reason == "outside_roots"
        assert "hunter2" not in str(refused.value)
    with pytest.raises(guard.SourceRefused) as missing:
        guard.check_local_path(str(root / "nope"), roots)
    assert missing.value.reason == "no_such_path"
    assert src.post_files(root) == []  # the symlink leading out is not read as a post


def test_configured_sources_are_roots_too(tmp_path: Path) -> None:
    roots = guard.allowed_roots([], [str(DEMO_DIR), "https://example.org/feed.xml"])
    assert guard.check_local_path(str(DEMO_POST), roots) == DEMO_POST.resolve()


# --- the client checks every connection -------------------------------------------------------


class Remap(httpcore.AsyncNetworkBackend):
    """Dials the test server when asked for the pretend public address (a test stand-in for
    the internet)."""

    def __init__(self) -> None:
        self.inner = httpcore.AnyIOBackend()
        self.dialled: list[str] = []

    async def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        self.dialled.append(host)
        return await self.inner.connect_tcp(
            "127.0.0.1" if host == PUBLIC_IP else host, port, *args, **kwargs
        )

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("not used")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


async def pretend_dns(host: str, port: int) -> list[str]:
    return [PUBLIC_IP] if host == "news.example" else await guard.system_resolve(host, port)


async def test_a_redirect_to_loopback_is_refused_at_that_hop(server: FeedServer) -> None:
    port = server.url("/").rsplit(":", 1)[1].split("/")[0]
    server.routes["/feed.xml"] = lambda request: Reply(
        302, {"Location": f"http://127.0.0.1:{port}/secret.md"}
    )
    server.routes["/secret.md"] = static(DEMO_POST.read_bytes(), "text/plain; charset=utf-8")
    remap = Remap()
    transport = guard.guarded_transport(allow_private=False, resolve=pretend_dns, inner=remap)
    async with httpx.AsyncClient(transport=transport, follow_redirects=True) as client:
        result = await src.fetch_url(f"http://news.example:{port}/feed.xml", client=client)
    assert result.posts == []
    [failure] = result.failures
    assert "refused: 127.0.0.1 is a loopback address" in failure.error
    assert remap.dialled == [PUBLIC_IP]  # the checked address, never the name again
    assert len(server.hits("/feed.xml")) == 1 and server.hits("/secret.md") == []


async def test_the_default_client_refuses_loopback(server: FeedServer) -> None:
    server.routes["/post.md"] = static(DEMO_POST.read_bytes(), "text/plain; charset=utf-8")
    async with src.make_client() as client:
        result = await src.fetch_url(server.url("/post.md"), client=client)
    [failure] = result.failures
    assert failure.error.startswith("refused: 127.0.0.1 is a loopback")
    assert server.served == []
    async with src.make_client(allow_private=True) as client:
        allowed = await src.fetch_url(server.url("/post.md"), client=client)
    assert len(allowed.posts) == 1


# --- no message quotes a file ------------------------------------------------------------------


def first_line(path: str) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8").splitlines()[0]
    except (OSError, IndexError, UnicodeDecodeError):
        return None


async def test_ingest_errors_never_quote_the_file(database: Database, tmp_path: Path) -> None:
    secrets = {
        "first-line.md": "password=hunter2\nmore\n",
        "html.md": "<!DOCTYPE html><title>hunter2</title>\n",
        "bad-date.md": '---\ntitle: t\ndate: "hunter2"\n---\n<p>正文。</p>\n',
        "bad-yaml.md": "---\ntitle: t\ndate: *hunter2\n---\n<p>正文。</p>\n",
    }
    for name, body in secrets.items():
        (tmp_path / name).write_text(body, encoding="utf-8")
    sources, first_passwd_line = [str(tmp_path)], "hunter2"
    passwd = first_line("/etc/passwd")
    if passwd is not None:
        sources.append("/etc/passwd")
        first_passwd_line = passwd
    report = await ingest(database, sources, settings=load_settings())
    assert len(report.failed) == len(sources) - 1 + len(secrets)
    for failure in report.failed:
        assert "hunter2" not in failure.error
        assert first_passwd_line not in failure.error and "root:" not in failure.error
    errors = {Path(f.source).name: f.error for f in report.failed}
    assert "found other text" in errors["first-line.md"]
    assert "found HTML" in errors["html.md"]


# --- chat: /addsource, /sources, /removesource, buttons --------------------------------------


@asynccontextmanager
async def chatting(api: FakeBotAPI, settings: Settings) -> AsyncIterator[Conversation]:
    application = build_application(settings)
    async with application:
        assert application.post_init is not None and application.post_shutdown is not None
        await application.post_init(application)
        await application.start()
        assert application.job_queue is not None
        for job in application.job_queue.get_jobs_by_name("scheduled-ingest"):
            job.schedule_removal()  # the tests press the buttons themselves
        yield Conversation(api, application)
        await application.stop()
        await application.post_shutdown(application)


@pytest.fixture
def api() -> Iterator[FakeBotAPI]:
    with FakeBotAPI() as fake:
        yield fake


def admin_settings(api: FakeBotAPI, tmp_path: Path, **overrides: Any) -> Settings:
    return bot_settings(api, f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}", **overrides)


async def rows(conversation: Conversation) -> list[Any]:
    db: Database = conversation.application.bot_data.db
    async with db.session() as session:
        return list(await SourceRepository(session).list_all(scheduled_only=True))


async def test_admin_adds_lists_runs_and_removes_a_source(api: FakeBotAPI, tmp_path: Path) -> None:
    async with chatting(api, admin_settings(api, tmp_path)) as chat:
        [preview] = sent_texts(await chat.say(f"/addsource {DEMO_DIR}", **as_admin()))
        assert "试读" in preview and "找到 7 篇" in preview
        assert "示例：山城试点无人驾驶公交 首条线路今日开通" in preview
        [row] = await rows(chat)
        assert (row.kind, row.location, row.added_by) == ("folder", str(DEMO_DIR), "telegram:9001")
        assert text("zh", "preview_saved", id=row.id) in preview

        [again] = sent_texts(await chat.say(f"/addsource {DEMO_DIR}", **as_admin()))
        assert again == text("zh", "source_exists", id=row.id)
        [faster] = sent_texts(await chat.say(f"/addsource {DEMO_DIR} every=5m", **as_admin()))
        assert faster == text("zh", "source_updated", id=row.id)
        [bad] = sent_texts(await chat.say(f"/addsource {DEMO_DIR} every=soon", **as_admin()))
        assert bad == text("zh", "addsource_bad_interval", value="soon")
        [row] = await rows(chat)
        assert row.interval_seconds == 300

        [listing] = await chat.say("/sources", **as_admin())
        shown = html.unescape(listing.params["text"])
        assert f"#{row.id}" in shown and str(DEMO_DIR) in shown
        assert text("zh", "source_status_never") in shown
        assert button_data(listing) == [f"src:run:{row.id}", f"src:rm:{row.id}"]

        [started] = sent_texts(await chat.press(listing, f"src:run:{row.id}", user_id=ADMIN_ID))
        assert started.startswith("开始抓取")
        done = text("zh", "ingest_done", added=7, updated=0, unchanged=0, failed=0)
        await asyncio.to_thread(
            api.wait_for,
            lambda c: c.method == "sendMessage" and c.params["text"] == done,
            timeout=INGEST_WAIT,
        )
        [listing] = await chat.say("/sources", **as_admin())
        shown = html.unescape(listing.params["text"])
        assert text("zh", "source_status_ok") in shown and "条目 7" in shown
        assert "每 5m 一次" in shown

        [removed] = sent_texts(await chat.say(f"/removesource {row.id}", **as_admin()))
        assert removed == text("zh", "source_removed", id=row.id, location=str(DEMO_DIR))
        assert await rows(chat) == []
        [empty] = sent_texts(await chat.say("/sources", **as_admin()))
        assert empty == text("zh", "sources_none")
        [gone] = sent_texts(await chat.say(f"/removesource {row.id}", **as_admin()))
        assert gone == text("zh", "source_not_found", id=row.id)


def as_admin() -> dict[str, Any]:
    return {"chat_id": ADMIN_ID, "user_id": ADMIN_ID}


async def test_non_admins_are_refused_every_source_command_and_button(
    api: FakeBotAPI, tmp_path: Path
) -> None:
    async with chatting(api, admin_settings(api, tmp_path)) as chat:
        for command in ("/sources", f"/addsource {DEMO_DIR}", "/removesource 1", "/ingest 1"):
            [sent] = sent_texts(await chat.say(command))
            assert sent == text("zh", "admin_only")
        assert await rows(chat) == []

        sent_texts(await chat.say(f"/addsource {DEMO_DIR}", **as_admin()))
        [listing] = await chat.say("/sources", **as_admin())
        [row] = await rows(chat)
        calls = await chat.press(listing, f"src:rm:{row.id}", user_id=USER_ID)
        [answer] = only(calls, "answerCallbackQuery")
        assert answer.params["text"] == text("zh", "admin_only")
        assert sent_texts(calls) == []
        assert [r.id for r in await rows(chat)] == [row.id]

        calls = await chat.press(listing, f"src:rm:{row.id}", user_id=ADMIN_ID)
        assert sent_texts(calls) == [
            text("zh", "source_removed", id=row.id, location=str(DEMO_DIR))
        ]


async def test_chat_refusals_are_clear_and_quote_nothing(api: FakeBotAPI, tmp_path: Path) -> None:
    settings = admin_settings(api, tmp_path, allow_private_sources=False)
    async with chatting(api, settings) as chat:
        for url, address in (
            ("http://127.0.0.1:8000/feed.xml", "127.0.0.1"),
            ("http://10.0.0.1/feed.xml", "10.0.0.1"),
            ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ):
            for command in ("/addsource", "/ingest"):
                [sent] = sent_texts(await chat.say(f"{command} {url}", **as_admin()))
                assert sent == text(
                    "zh", "source_refused_private_address", host=address, address=address
                )
        for path in ("/etc/passwd", str(tmp_path)):
            for command in ("/addsource", "/ingest"):
                [sent] = sent_texts(await chat.say(f"{command} {path}", **as_admin()))
                assert sent == text("zh", "source_refused_outside_roots", path=path)
                assert "root:" not in sent
        assert await rows(chat) == []


async def test_a_source_without_posts_is_not_saved(api: FakeBotAPI, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.md").write_text("只是笔记，不是新闻。\n", encoding="utf-8")
    async with chatting(
        api, admin_settings(api, tmp_path, local_source_roots=[str(empty)])
    ) as chat:
        [preview] = sent_texts(await chat.say(f"/addsource {empty}", **as_admin()))
        assert "找到 1 篇" in preview and text("zh", "preview_not_saved") in preview
        assert "只是笔记" not in preview
        assert await rows(chat) == []
        [usage] = sent_texts(await chat.say("/addsource", **as_admin()))
        assert usage == text("zh", "addsource_usage")
        [bad_tz] = sent_texts(await chat.say(f"/addsource {empty} tz=Mars/Base", **as_admin()))
        assert bad_tz == text("zh", "addsource_bad_tz", tz="Mars/Base")


async def test_addsource_reads_a_url_once_and_keeps_its_zone_setting(
    api: FakeBotAPI, tmp_path: Path, server: FeedServer
) -> None:
    server.routes["/post.md"] = static(DEMO_POST.read_bytes(), "text/plain; charset=utf-8")
    url = server.url("/post.md")
    async with chatting(api, admin_settings(api, tmp_path)) as chat:
        [preview] = sent_texts(await chat.say(f"/addsource {url} tz=UTC", **as_admin()))
        assert "找到 1 篇" in preview and "山城试点无人驾驶公交" in preview
        [row] = await rows(chat)
        assert (row.kind, row.location, row.tz, row.enabled) == ("url", url, "UTC", True)
    assert len(server.hits("/post.md")) == 1


# --- gaps and "not modified" -------------------------------------------------------------------


async def test_a_gap_is_recorded_reported_and_shown_with_advice(
    api: FakeBotAPI, tmp_path: Path, server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.routes["/feed.xml"] = static(DEMO_POST.read_bytes(), "text/plain; charset=utf-8")
    url = server.url("/feed.xml")
    real_fetch = src.fetch_url

    async def fetch_with_gap(*args: Any, **kwargs: Any) -> src.FetchResult:
        result = await real_fetch(*args, **kwargs)
        result.gap = True  # what a feed reader says when every entry is newer than the newest seen
        return result

    monkeypatch.setattr(src, "fetch_url", fetch_with_gap)
    async with chatting(api, admin_settings(api, tmp_path)) as chat:
        sent_texts(await chat.say(f"/addsource {url}", **as_admin()))
        [row] = await rows(chat)
        await chat.say(f"/ingest {row.id}", **as_admin())
        gap_line = text("zh", "ingest_gap", source=url)
        [done] = await asyncio.to_thread(
            api.wait_for,
            lambda c: c.method == "sendMessage" and "抓取完成" in c.params["text"],
            timeout=INGEST_WAIT,
        )
        assert gap_line in html.unescape(done.params["text"])
        [listing] = await chat.say("/sources", **as_admin())
        shown = html.unescape(listing.params["text"])
        assert "可能漏掉了新闻（1 次" in shown
        assert "缩短抓取间隔" in shown and "posts_limit" in shown and "git" in shown
        [english] = await chat.say("/sources", lang="en", **as_admin())
        assert "Items may have been missed (1 times" in html.unescape(english.params["text"])
        [row] = await rows(chat)
        assert row.gap_count == 1 and row.gap_warned_at is not None


async def test_a_304_is_reported_as_not_modified(
    database: Database, server: FeedServer, tmp_path: Path
) -> None:
    server.routes["/post.md"] = static(
        DEMO_POST.read_bytes(), "text/plain; charset=utf-8", etag=ETAG
    )
    url = server.url("/post.md")
    settings = load_settings(allow_private_sources=True)
    first = await ingest(database, [url], settings=settings)
    second = await ingest(database, [url], settings=settings)
    assert (first.added, first.not_modified) == (1, [])
    assert (second.added, second.updated, second.unchanged, second.failed) == (0, 0, 0, [])
    assert second.to_json()["not_modified"] == [url]
    assert server.hits("/post.md")[1].headers["if-none-match"] == ETAG
    async with database.session() as session:
        row = await SourceRepository(session).by_location(url)
    assert row is not None
    assert (row.last_status, row.etag, row.items_seen) == ("not_modified", ETAG, 1)

    summary = IngestSummary(0, 0, 0, not_modified=(url,))
    ctx = RenderContext(lang="zh", tz=settings.tz, callbacks=None)  # type: ignore[arg-type]
    [message] = render(summary, ctx)
    assert text("zh", "ingest_not_modified", source=url) in html.unescape(message.html)
    [english] = render(summary, RenderContext("en", settings.tz, None))  # type: ignore[arg-type]
    assert "Not modified" in english.html and "unchanged" in english.html


def test_cli_reports_not_modified_and_manages_sources(
    server: FeedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    server.routes["/post.md"] = static(
        DEMO_POST.read_bytes(), "text/plain; charset=utf-8", etag=ETAG
    )
    url = server.url("/post.md")
    db = ["--database-url", f"sqlite:///{tmp_path / 'cli.db'}"]
    assert main(["sources", "add", url, "--json", *db]) == 1  # 127.0.0.1 by default: refused
    assert json.loads(capsys.readouterr().out)["error"] == "source_refused_private_address"

    monkeypatch.setenv("NEWSBOT_ALLOW_PRIVATE_SOURCES", "true")
    assert main(["sources", "add", url, "--json", *db]) == 0
    added = json.loads(capsys.readouterr().out)
    assert (added["found"], added["kind"]) == (1, "url")
    assert main(["ingest", url, "--json", *db]) == 0
    assert json.loads(capsys.readouterr().out)["added"] == 1
    assert main(["ingest", url, "--json", *db]) == 0
    again = json.loads(capsys.readouterr().out)
    assert (again["not_modified"], again["unchanged"], again["added"]) == ([url], 0, 0)

    assert main(["sources", "list", "--json", *db]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert (listed["id"], listed["location"], listed["last_status"]) == (
        added["id"],
        url,
        "not_modified",
    )
    assert main(["sources", "remove", str(added["id"]), "--json", *db]) == 0
    assert json.loads(capsys.readouterr().out) == {"removed": added["id"], "location": url}
    assert main(["sources", "list", "--json", *db]) == 0
    assert json.loads(capsys.readouterr().out) == []


# --- schedule and backoff ----------------------------------------------------------------------


def test_backoff_doubles_after_each_failure_up_to_a_day() -> None:
    interval = timedelta(minutes=15)
    assert [backoff_delay(interval, n) for n in range(4)] == [
        interval,
        interval * 2,
        interval * 4,
        interval * 8,
    ]
    assert backoff_delay(interval, 30) == timedelta(days=1)
    assert backoff_delay(timedelta(days=2), 3) == timedelta(days=2)


async def test_a_failing_source_backs_off_and_a_good_read_resets_it(
    database: Database, tmp_path: Path
) -> None:
    folder = tmp_path / "posts"
    settings = load_settings(ingest={"interval": "10m"})
    async with database.session() as session, session.begin():
        await SourceRepository(session).add("folder", str(folder), added_by="test")
    delays = []
    for _ in range(3):
        await ingest(database, [str(folder)], settings=settings)  # the folder is missing
        async with database.session() as session:
            row = await SourceRepository(session).by_location(str(folder))
            assert row is not None and row.next_run_at and row.last_run_at
            delays.append(row.next_run_at - row.last_run_at)
            assert row.last_status == "failed" and "no such file" in (row.last_error or "")
    assert delays == [timedelta(minutes=20), timedelta(minutes=40), timedelta(minutes=80)]
    folder.mkdir()
    (folder / DEMO_POST.name).write_bytes(DEMO_POST.read_bytes())
    await ingest(database, [str(folder)], settings=settings)
    async with database.session() as session:
        row = await SourceRepository(session).by_location(str(folder))
        assert row is not None and row.next_run_at and row.last_run_at
        assert (row.last_status, row.consecutive_failures, row.items_seen) == ("ok", 0, 1)
        assert row.next_run_at - row.last_run_at == timedelta(minutes=10)
        assert not await SourceRepository(session).due(datetime.now(UTC))


async def test_a_cursor_is_kept_when_the_posts_could_not_be_stored(
    database: Database, server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.routes["/post.md"] = static(
        DEMO_POST.read_bytes(), "text/plain; charset=utf-8", etag=ETAG
    )
    url = server.url("/post.md")

    async def broken_flush(self: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("bot.ingest.pipeline.Ingestor.flush", broken_flush)
    settings = load_settings(allow_private_sources=True)
    with pytest.raises(OSError):
        await ingest(database, [url], settings=settings)
    async with database.session() as session:
        row = await SourceRepository(session).by_location(url)
    assert row is None or row.etag is None  # the next read is unconditional: nothing is lost


# --- other routes through /addsource ----------------------------------------------------------


def demo_repository(path: Path) -> Path:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    (path / "_posts").mkdir(parents=True)
    for post in sorted(DEMO_DIR.glob("*.md"))[:3]:
        (path / "_posts" / post.name).write_bytes(post.read_bytes())
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "posts"]):
        subprocess.run(["git", *args], cwd=path, env=os.environ | env, check=True)
    return path


async def test_addsource_follows_a_git_repository_under_the_roots(
    api: FakeBotAPI, tmp_path: Path
) -> None:
    repo = demo_repository(tmp_path / "repos" / "site")
    settings = admin_settings(
        api,
        tmp_path,
        local_source_roots=[str(tmp_path / "repos")],
        ingest={"git_dir": str(tmp_path / "clones")},
    )
    async with chatting(api, settings) as chat:
        [preview] = sent_texts(await chat.say(f"/addsource git+file://{repo}", **as_admin()))
        assert "（git）：找到 3 篇" in preview
        [row] = await rows(chat)
        assert (row.kind, row.location) == ("git", f"git+file://{repo.resolve()}")
        [refused] = sent_texts(await chat.say("/addsource git+file:///etc", **as_admin()))
        assert refused == text("zh", "source_refused_outside_roots", path="/etc")


async def test_addsource_of_a_home_page_follows_its_feed(
    api: FakeBotAPI, tmp_path: Path, server: FeedServer
) -> None:
    serve_rss(server, ["Thu, 26 May 2022 09:30:00 +0800", "Thu, 26 May 2022 10:30:00 +0800"])
    async with chatting(api, admin_settings(api, tmp_path)) as chat:
        [preview] = sent_texts(await chat.say(f"/addsource {server.url('/')}", **as_admin()))
        assert "找到 2 篇" in preview and "央行开展逆回购操作第1次" in preview
        [row] = await rows(chat)
        assert (row.location, row.name) == (server.url("/rss.xml"), "新闻网")
        [listing] = await chat.say("/sources", **as_admin())
        assert "新闻网" in html.unescape(listing.params["text"])


# --- rendering -----------------------------------------------------------------------------------


def test_source_replies_are_valid_html_and_split_with_their_buttons() -> None:
    from fakebotapi import validate_message_text

    from bot.render.keyboards import CallbackStore
    from bot.services.replies import SourceHealth, SourceList, SourcePreview
    from storage.records import Failure

    hostile = '<x & "y">'
    moment = datetime(2026, 12, 1, tzinfo=UTC)
    sources = tuple(
        SourceHealth(
            id=n,
            kind="url",
            location=f"https://example.org/{hostile}/{'长' * 150}/{n}",
            name=hostile,
            scheduled=True,
            interval_seconds=900,
            tz="jekyll-utc",
            last_run_at=moment,
            last_status="partial",
            last_error=hostile * 30,
            items_seen=10,
            consecutive_failures=3,
            next_run_at=moment,
            gap_count=2,
            gap_warned_at=moment,
        )
        for n in range(1, 61)
    )
    preview = SourcePreview(
        hostile, "url", 3, (hostile,) * 3, (Failure(hostile, hostile),) * 5, None
    )
    for lang in ("zh", "en"):
        ctx = RenderContext(lang, UTC, CallbackStore())  # type: ignore[arg-type]
        messages = render(SourceList(sources), ctx)
        assert len(messages) > 1
        listed = []
        for message in messages:
            validate_message_text(message.html, "HTML")
            assert message.keyboard is not None
            listed += [b.callback_data for b in message.keyboard.buttons]
        assert listed == [f"src:{verb}:{n}" for n in range(1, 61) for verb in ("run", "rm")]
        for message in render(preview, ctx):
            validate_message_text(message.html, "HTML")

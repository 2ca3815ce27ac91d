"""Every route a Jekyll site offers, against the real Jekyll building the corpus.

The corpus's `_posts` is built by Jekyll 4.3 with minima and jekyll-feed (`timezone:
Asia/Shanghai`) and served on 127.0.0.1 with the raw files beside it; a git repository is
made from the same files. Each route is compared field by field with the folder ingest,
and then all routes go into one store, which must not change.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from feedserver import FeedServer, static
from gitrepo import git

from bot.ingest import sources as src
from bot.ingest.pipeline import ingest, prepare
from bot.ingest.timerule import parse_time_rule
from bot.settings import Settings, load_settings
from storage.db import Database
from storage.models import Article
from storage.records import ArticleRecord, Failure

SITE_TZ = ZoneInfo("Asia/Shanghai")
FIELDS = ("key", "title", "published_at", "category", "tags", "summary", "share_url")
TYPES = {".html": "text/html; charset=utf-8", ".xml": "application/xml", ".md": "text/markdown"}
CONFIG = """title: finews
url: "{url}"
theme: minima
plugins: [jekyll-feed]
timezone: Asia/Shanghai
feed:
  posts_limit: 1000
"""


@dataclass
class Site:
    posts: Path
    server: FeedServer
    feed_url: str
    page_urls: list[str]
    raw_urls: list[str]


def posts_of_corpus(corpus_dir: Path) -> list[tuple[str, Path]]:
    """(repository path, corpus file) of each file the site keeps in `_posts/`."""
    found = []
    for line in (corpus_dir / "SOURCES.tsv").read_text("utf-8").splitlines():
        name, _repo, path, *_ = line.split("\t")
        if path.startswith("_posts/"):
            found.append((path, corpus_dir / name))
    return found


def need_jekyll() -> str:
    jekyll = shutil.which("jekyll")
    if jekyll is None:
        if os.environ.get("CI") == "true":
            pytest.fail("jekyll is not installed; .ci/run installs it with apt-get")
        pytest.skip("jekyll is not installed (apt-get install jekyll jekyll-theme-minima ...)")
    return jekyll


@pytest.fixture(scope="module")
def site(corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    jekyll = need_jekyll()
    root = tmp_path_factory.mktemp("site")
    (root / "_posts").mkdir()
    for path, file in posts_of_corpus(corpus_dir):
        shutil.copyfile(file, root / path)
    (root / "index.md").write_text("---\nlayout: home\n---\n")
    with FeedServer() as server:
        (root / "_config.yml").write_text(CONFIG.format(url=server.url("").rstrip("/")))
        subprocess.run(
            [jekyll, "build", "--quiet", "-s", str(root), "-d", str(root / "_site")],
            check=True,
            timeout=120,
            env=os.environ | {"JEKYLL_ENV": "production"},
        )
        pages = []
        for file in sorted((root / "_site").rglob("*")):
            if file.is_file() and file.suffix in TYPES:
                path = "/" + file.relative_to(root / "_site").as_posix()
                server.routes[path] = static(file.read_bytes(), TYPES[file.suffix], etag='"v1"')
                if file.suffix == ".html" and path.count("/") >= 4:
                    pages.append(server.url(path))
        raws = []
        for file in sorted((root / "_posts").iterdir()):
            server.routes[f"/raw/{file.name}"] = static(file.read_bytes(), TYPES[".md"])
            raws.append(server.url(f"/raw/{file.name}"))
        server.routes["/"] = server.routes["/index.html"]
        yield Site(root / "_posts", server, server.url("/feed.xml"), pages, raws)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with src.make_client(allow_private=True, connect_timeout=5, read_timeout=10) as made:
        yield made


def settings_for_tests(tmp_path: Path) -> Settings:
    base = load_settings()
    return base.model_copy(
        update={
            "allow_private_sources": True,
            "ingest": base.ingest.model_copy(update={"git_dir": tmp_path / "git"}),
        }
    )


def records(raws: list[src.RawPost]) -> dict[str, ArticleRecord]:
    made: dict[str, ArticleRecord] = {}
    for raw in raws:
        record = prepare(raw, SITE_TZ)
        assert not isinstance(record, Failure), record
        made[record.key] = record
    return made


def agreement(route: dict[str, ArticleRecord], folder: dict[str, ArticleRecord]) -> dict[str, int]:
    shared = [key for key in route if key in folder]
    return {"key": len(shared)} | {
        name: sum(getattr(route[k], name) == getattr(folder[k], name) for k in shared)
        for name in FIELDS[1:]
    }


def git_repo(tmp_path: Path, posts: Path) -> str:
    repo = tmp_path / "origin"
    (repo / "_posts").mkdir(parents=True)
    for file in posts.iterdir():
        shutil.copyfile(file, repo / "_posts" / file.name)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "posts")
    return f"git+file://{repo}"


async def test_every_route_of_a_jekyll_site_agrees_with_the_folder(
    site: Site, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    folder = records([p for p in src.read_folder(site.posts) if isinstance(p, src.RawPost)])
    default = parse_time_rule(None, SITE_TZ)
    undo = parse_time_rule("jekyll-utc", SITE_TZ)

    feed = await src.fetch_url(site.feed_url, client=client, rule=default)
    feed_undone = await src.fetch_url(site.feed_url, client=client, rule=undo)
    pages = [await src.fetch_url(url, client=client, rule=default) for url in site.page_urls]
    raw = [await src.fetch_url(url, client=client) for url in site.raw_urls]
    from bot.ingest.git_source import read_git

    repo = git_repo(tmp_path, site.posts)
    git_read = read_git(repo, tmp_path / "clones", None)

    routes = {
        "feed": records(feed.posts),
        "feed tz=jekyll-utc": records(feed_undone.posts),
        "pages": records([post for page in pages for post in page.posts]),
        "raw files": records([post for fetched in raw for post in fetched.posts]),
        "git": records(git_read.posts),
    }
    assert feed.failures == [] and feed.name == "finews"
    # The home page announces its feed; reading it reads the feed.
    home = await src.fetch_url(site.server.url("/"), client=client, rule=default)
    assert home.feed_url == site.feed_url and home.failures == []
    assert records(home.posts).keys() == records(feed.posts).keys()
    assert all(page.failures == [] for page in pages)
    published = len(routes["feed"])
    table = {name: agreement(route, folder) for name, route in routes.items()}
    print(f"\nfolder: {len(folder)} posts, Jekyll published {published}", file=sys.stderr)
    for name, row in table.items():
        print(f"{name:20} {len(routes[name]):4}  {row}", file=sys.stderr)

    texts = {key: (site.posts / str(r.file)).read_text("utf-8-sig") for key, r in folder.items()}
    zoned = {key for key, text in texts.items() if "+0800" in text.split("---")[1]}
    # The post with a blank line before its front matter: Jekyll published it without front
    # matter (titled with its id, dated by its file name); both routes get it back.
    [bare] = [key for key, text in texts.items() if text.startswith("\n")]
    assert published == len(folder) and len(routes["pages"]) == published
    for name in ("raw files", "git"):
        assert table[name] == dict.fromkeys(FIELDS, len(folder)), name
    for name in ("feed", "feed tz=jekyll-utc", "pages"):
        for field in ("key", "title", "category", "summary", "share_url"):
            assert table[name][field] == published, (name, field)
    assert table["feed"]["tags"] == published
    # minima shows no tags on a post page: only the page without layout carries them.
    assert {k for k, r in routes["pages"].items() if r.tags} == {bare}
    assert table["pages"]["tags"] == 1

    # Jekyll's UTC reading: nothing in the feed tells a zone-less time from one with +0800,
    # so the default trusts the stated offset and `tz=jekyll-utc` undoes it for all.
    def agreeing(route: dict[str, ArticleRecord]) -> set[str]:
        return {k for k, r in route.items() if r.published_at == folder[k].published_at}

    assert agreeing(routes["feed"]) == zoned | {bare}
    assert agreeing(routes["pages"]) == zoned | {bare}
    assert agreeing(routes["feed tz=jekyll-utc"]) == set(folder) - zoned
    assert len(zoned) == 16


async def test_mixing_the_routes_in_one_store_changes_nothing(
    site: Site, database: Database, tmp_path: Path
) -> None:
    settings = settings_for_tests(tmp_path)
    first = await ingest(database, [str(site.posts)], settings=settings)
    assert first.failed == [] and first.added == 111
    async with database.session() as session:
        before = {
            row.key: (row.published_at, row.content_hash)
            for row in (await session.execute(Article.__table__.select())).all()
        }

    others = [
        site.feed_url,
        *site.page_urls[:25],
        *site.raw_urls[:25],
        git_repo(tmp_path, site.posts),
    ]
    again = await ingest(database, others, settings=settings)

    assert again.failed == []
    assert (again.added, again.updated) == (0, 0)
    assert again.unchanged == 111 + 25 + 25 + 112
    async with database.session() as session:
        after = {
            row.key: (row.published_at, row.content_hash)
            for row in (await session.execute(Article.__table__.select())).all()
        }
    assert after == before

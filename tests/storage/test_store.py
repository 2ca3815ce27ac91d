"""The article store on SQLite and PostgreSQL: upsert by key, listing, counts."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import threading
import time
from contextlib import closing
from dataclasses import replace
from datetime import UTC, timedelta
from functools import partial

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from store_support import BASE, record, upsert

from bot.settings import load_settings
from storage import sqlite_latest
from storage.db import Database, DatabaseURLError, head_revision, normalize_url
from storage.repository import WRITE_CACHE_KIB, ArticleRepository
from storage.views import latest_views


async def test_new_articles_are_added_then_unchanged_on_reingest(database):
    records = [record(n) for n in range(5)]
    assert await upsert(database, records) == ["added"] * 5
    assert await upsert(database, records) == ["unchanged"] * 5
    async with database.session() as session:
        stats = await ArticleRepository(session).stats()
    assert (stats.articles, stats.stories, stats.categories, stats.tags) == (5, 5, 1, 1)


async def test_changed_post_is_updated_in_place(database):
    await upsert(database, [record(1)])
    changed = replace(record(1), title="改过的标题", content_hash="hash-1b", tags=("新标签",))
    assert await upsert(database, [changed]) == ["updated"]
    async with database.session() as session:
        repo = ArticleRepository(session)
        article = await repo.get(record(1).key)
        assert article is not None
        assert article.title == "改过的标题"
        assert article.tag_names == ["新标签"]
        assert (await repo.stats()).articles == 1


async def test_same_key_twice_in_one_batch_counts_once_as_added(database):
    assert await upsert(database, [record(1), record(1)]) == ["added", "unchanged"]


async def test_a_sqlite_batch_write_leaves_the_connection_page_cache_as_it_found_it(
    sqlite_database,
):
    """The write raises SQLite's page cache for the batch only: a pooled connection keeps
    whatever size it had, not the batch's."""
    async with sqlite_database.session() as session, session.begin():
        await session.execute(text("PRAGMA cache_size = -3000"))
        seen: list[int] = []

        def watch(conn, cursor, statement, *_):  # type: ignore[no-untyped-def]
            if statement.startswith("PRAGMA cache_size = "):
                seen.append(int(statement.rsplit(" ", 1)[1]))

        engine = sqlite_database.engine.sync_engine
        event.listen(engine, "before_cursor_execute", watch)
        try:
            await ArticleRepository(session).upsert_many([record(n) for n in range(3)])
        finally:
            event.remove(engine, "before_cursor_execute", watch)
        assert seen == [-WRITE_CACHE_KIB, -3000]
        assert await session.scalar(text("PRAGMA cache_size")) == -3000


async def test_a_failed_sqlite_batch_write_also_sets_the_page_cache_back(
    sqlite_database, monkeypatch
):
    async def fail(self, pending):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk full")

    monkeypatch.setattr(ArticleRepository, "_write_sqlite", fail)
    async with sqlite_database.session() as session, session.begin():
        await session.execute(text("PRAGMA cache_size = -3000"))
        with pytest.raises(RuntimeError, match="disk full"):
            await ArticleRepository(session).upsert_many([record(1)])
        assert await session.scalar(text("PRAGMA cache_size")) == -3000


async def test_latest_is_newest_first_and_filters_by_category_and_tag(database):
    await upsert(
        database,
        [
            record(1),
            record(2, category="emnews", tags=("东财滚动新闻",)),
            record(3, tags=("科技日报新闻", "韶关")),
        ],
    )
    async with database.session() as session:
        repo = ArticleRepository(session)
        assert [a.title for a in await repo.latest()] == ["第3条新闻", "第2条新闻", "第1条新闻"]
        assert [a.title for a in await repo.latest(category="kejiribao")] == [
            "第3条新闻",
            "第1条新闻",
        ]
        assert [a.title for a in await repo.latest(tag="韶关")] == ["第3条新闻"]
        assert [a.title for a in await repo.latest(limit=1, offset=1)] == ["第2条新闻"]
        assert await repo.latest(category="nothing") == []
        assert await repo.count(category="kejiribao") == 2


async def test_reads_run_off_the_session_see_committed_writes_with_tags_loaded(database):
    """`Database.read` (a reader thread on SQLite) sees what was committed, and what it
    returns is usable after its session closed."""
    await upsert(database, [record(1), record(2, tags=("科技日报新闻", "韶关"))])
    newest = await database.read(partial(latest_views, limit=5))
    assert [(a.title, a.category, a.tags) for a in newest] == [
        ("第2条新闻", "kejiribao", ("科技日报新闻", "韶关")),
        ("第1条新闻", "kejiribao", ("科技日报新闻",)),
    ]
    await upsert(database, [record(3)])
    short = await database.read(partial(latest_views, tag="科技日报新闻"), short=True)
    assert [a.title for a in short] == ["第3条新闻", "第2条新闻", "第1条新闻"]
    assert [a.title for a in await database.read(partial(latest_views, tag="科技日报新闻"))] == [
        "第3条新闻",
        "第2条新闻",
        "第1条新闻",
    ]


async def test_listings_read_off_the_session_match_those_read_in_it(database):
    await upsert(
        database,
        [
            record(1),
            replace(record(2, tags=("韶关", "科技日报新闻")), summary=""),
            record(3, category="emnews", tags=()),
        ],
    )
    for category, tag in [(None, None), ("kejiribao", None), (None, "韶关"), ("emnews", None)]:
        views = await database.read(partial(latest_views, category=category, tag=tag))
        async with database.session() as session:
            articles = await ArticleRepository(session).latest(category=category, tag=tag)
        assert [(v.key, v.title, v.category, sorted(v.tags)) for v in views] == [
            (a.key, a.title, a.category, sorted(a.tags)) for a in articles
        ]
    views = {v.key: v for v in await database.read(latest_views)}
    assert views[record(2).key].paragraphs == [["正文第2段。", False], ["小标题", True]]
    assert views[record(1).key].paragraphs == []  # its summary is shown: no need to load them


async def test_listings_on_the_sqlite_driver_equal_those_through_sqlalchemy(database, monkeypatch):
    """On a SQLite file `Database.read` runs `latest_views`'s plain-SQL twin
    (`storage.sqlite_latest`) on the driver's connection, while an async session runs it
    through SQLAlchemy: the views must be equal field for field, with aware dates and decoded
    paragraphs, for every filter and page."""
    odd = BASE + timedelta(minutes=7, seconds=3, microseconds=120)
    await upsert(
        database,
        [
            record(1),
            replace(record(2, tags=("韶关", "科技日报新闻")), summary="", published_at=odd),
            replace(record(3, tags=()), category=None, summary="", digest="摘要"),
            replace(record(4, category="emnews", tags=("韶关",)), summary=""),
            record(5, category="emnews", tags=("东财滚动新闻", "韶关")),
        ],
    )
    plain_calls = []
    plain = sqlite_latest.latest_views
    monkeypatch.setattr(
        sqlite_latest, "latest_views", lambda *a, **k: plain_calls.append(k) or plain(*a, **k)
    )
    for category, tag, limit, offset in [
        (None, None, 10, 0),
        (None, None, 2, 1),
        ("kejiribao", None, 10, 0),
        ("emnews", "韶关", 10, 0),
        (None, "韶关", 1, 1),
        (None, "科技日报新闻", 10, 0),
        ("nothing", None, 10, 0),
        (None, "nothing", 10, 0),
    ]:
        query = partial(latest_views, category=category, tag=tag, limit=limit, offset=offset)
        short = await database.read(query, short=True)
        threaded = await database.read(query)
        async with database.session() as session:
            in_session = await ArticleRepository(session).latest(
                category=category, tag=tag, limit=limit, offset=offset
            )
        assert short == threaded == in_session, (category, tag, limit, offset)
    everything = await database.read(latest_views, short=True)
    assert all(v.published_at.tzinfo is UTC for v in everything)
    assert {v.key: v.published_at for v in everything}[record(2).key] == odd
    assert {v.key: v.paragraphs for v in everything}[record(4).key] == [
        ["正文第4段。", False],
        ["小标题", True],
    ]
    if database.dialect == "sqlite":
        assert len(plain_calls) == 17  # each case twice on the driver, and `everything`
    else:
        assert not plain_calls


async def test_a_slow_read_leaves_the_event_loop_free(database):
    """A query function's own Python (a search scoring its candidates) runs off the caller's
    event loop on both backends: the chats the bot serves meanwhile are not held up."""
    await upsert(database, [record(1)])

    def slow_keys(session: Session) -> list[str]:
        time.sleep(0.4)  # stands for CPU work: it holds its thread, not the loop
        return list(session.scalars(text("SELECT key FROM articles")))

    ticks: list[float] = []

    async def tick() -> None:
        while True:
            ticks.append(time.monotonic())
            await asyncio.sleep(0.01)

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0.05)
    try:
        assert await database.read(slow_keys) == [record(1).key]
        await asyncio.sleep(0.05)
    finally:
        ticker.cancel()
    assert max(b - a for a, b in itertools.pairwise(ticks)) < 0.2


async def test_a_short_postgresql_read_stays_on_the_loop_a_long_one_leaves_it(database):
    """Two hops between threads cost a page of `/latest` more than its own Python."""
    if database.dialect != "postgresql":
        pytest.skip("SQLite runs every read in a reader thread")

    def thread_of(session: Session) -> int:
        session.execute(text("SELECT 1"))
        return threading.get_ident()

    assert await database.read(thread_of, short=True) == threading.get_ident()
    assert await database.read(thread_of) != threading.get_ident()


async def test_a_failed_short_read_leaves_later_ones_working(sqlite_database):
    await upsert(sqlite_database, [record(1)])

    def fail(session: Session) -> None:
        session.execute(text("SELECT nothing FROM nowhere"))

    with pytest.raises(OperationalError):
        await sqlite_database.read(fail, short=True)
    await upsert(sqlite_database, [record(2)])
    listed = await sqlite_database.read(latest_views, short=True)
    assert [v.title for v in listed] == ["第2条新闻", "第1条新闻"]


async def test_a_new_file_another_connection_is_writing_is_waited_for_not_refused(tmp_path):
    """Switching a new file to WAL while another process writes it (both newsbot runs at
    their first use) fails at once in SQLite, whatever busy_timeout says; the store waits."""
    path = tmp_path / "new.db"
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("CREATE TABLE other (id INTEGER)")
    threading.Timer(0.5, writer.execute, ["COMMIT"]).start()
    database = Database(f"sqlite:///{path}")
    try:
        async with database.engine.connect() as conn:
            mode = await conn.scalar(text("PRAGMA journal_mode"))
            tables = (await conn.execute(text("SELECT name FROM sqlite_master"))).scalars()
            assert (mode, list(tables)) == ("wal", ["other"])
    finally:
        await database.dispose()
        writer.close()


async def test_reads_cannot_write(sqlite_database):
    def write(session: Session) -> None:
        session.execute(text("CREATE TABLE sneaky (id INTEGER)"))

    with pytest.raises(OperationalError, match="readonly"):
        await sqlite_database.read(write)


async def test_counts_per_category_and_tag(database):
    await upsert(
        database,
        [record(1), record(2), record(3, category="emnews", tags=("东财滚动新闻", "科技日报新闻"))],
    )
    async with database.session() as session:
        repo = ArticleRepository(session)
        assert await repo.category_counts() == [("kejiribao", 2), ("emnews", 1)]
        assert await repo.tag_counts() == [("科技日报新闻", 3), ("东财滚动新闻", 1)]


async def test_published_at_comes_back_timezone_aware(database):
    await upsert(database, [record(7)])
    async with database.session() as session:
        article = await ArticleRepository(session).get(record(7).key)
    assert article is not None
    assert article.published_at == BASE + timedelta(hours=7)
    assert article.published_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("sqlite+aiosqlite:////abs/x.db", "sqlite+aiosqlite:////abs/x.db"),
        ("postgresql://postgres@127.0.0.1/test", "postgresql+asyncpg://postgres@127.0.0.1/test"),
        ("postgres://u:p@h:5432/d", "postgresql+asyncpg://u:p@h:5432/d"),
    ],
)
def test_plain_urls_map_to_async_drivers(given, expected):
    assert normalize_url(given) == expected


@pytest.mark.parametrize("bad", ["mysql://root@localhost/x", "not a url"])
def test_unsupported_urls_are_refused_clearly(bad):
    with pytest.raises(DatabaseURLError):
        normalize_url(bad)


def test_bad_setting_is_one_line_naming_the_variable(monkeypatch):
    from bot.settings import SettingsError

    monkeypatch.setenv("NEWSBOT_INGEST_INTERVAL", "soon")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith("NEWSBOT_INGEST_INTERVAL:")
    assert "\n" not in message


def test_settings_read_grouped_variables(monkeypatch):
    monkeypatch.setenv("NEWSBOT_TELEGRAM_TOKEN", "123:abc")
    monkeypatch.setenv("NEWSBOT_TELEGRAM_BASE_URL", "http://127.0.0.1:9/bot")
    monkeypatch.setenv("NEWSBOT_ADMIN_IDS", "1, 22")
    monkeypatch.setenv("NEWSBOT_SOURCES", "/a,/b")
    monkeypatch.setenv("NEWSBOT_INGEST_INTERVAL", "2h")
    settings = load_settings()
    assert settings.telegram.token is not None
    assert settings.telegram.token.get_secret_value() == "123:abc"
    assert "123:abc" not in repr(settings)
    assert settings.telegram.base_url == "http://127.0.0.1:9/bot"
    assert settings.admin.ids == [1, 22]
    assert settings.sources == ["/a", "/b"]
    assert settings.ingest.interval == timedelta(hours=2)
    assert settings.timezone == "Asia/Shanghai"


async def test_an_older_copy_under_the_same_key_does_not_replace_the_newer(database):
    newer = record(4)
    stale = replace(record(4), title="", published_at=BASE, content_hash="stale")
    assert await upsert(database, [newer, stale]) == ["added", "unchanged"]
    assert await upsert(database, [stale, newer]) == ["unchanged", "unchanged"]
    async with database.session() as session:
        article = await ArticleRepository(session).get(newer.key)
    assert article is not None and article.title == newer.title


async def test_tag_listing_follows_a_changed_date(database):
    await upsert(database, [record(1, tags=("韶关",)), record(2, tags=("韶关",))])
    newer = BASE + timedelta(days=3)
    moved = replace(record(1, tags=("韶关",)), published_at=newer, content_hash="x")
    assert await upsert(database, [moved]) == ["updated"]
    async with database.session() as session:
        listed = await ArticleRepository(session).latest(tag="韶关")
    assert [a.title for a in listed] == ["第1条新闻", "第2条新闻"]


async def test_migration_0004_dates_existing_tag_links(tmp_path):
    from sqlalchemy import text

    from storage.db import Database, upgrade

    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    await upgrade(db.engine, "0003")
    async with db.engine.begin() as conn:
        await conn.execute(text("INSERT INTO tags (id, name) VALUES (1, '科技')"))
        await conn.execute(
            text(
                "INSERT INTO articles (id, key, title, published_at, paragraphs, summary,"
                " summary_version, content_hash, story_id, created_at, updated_at) VALUES"
                " (7, 'k', 't', '2022-04-20 06:01:57', '[]', '', 0, 'h', 7,"
                " '2022-04-20 06:01:57', '2022-04-20 06:01:57')"
            )
        )
        await conn.execute(text("INSERT INTO article_tags (article_id, tag_id) VALUES (7, 1)"))
    await db.upgrade()
    async with db.session() as session:
        [article] = await ArticleRepository(session).latest(tag="科技")
    assert article.key == "k"
    async with db.engine.connect() as conn:
        dated = await conn.scalar(text("SELECT published_at FROM article_tags"))
    assert str(dated).startswith("2022-04-20 06:01:57")
    await db.dispose()


async def test_migration_0005_reindexes_a_bag_index_as_a_sequence(tmp_path):
    from alembic import command
    from sqlalchemy import text

    from storage.db import Database, _alembic_config
    from storage.search import search
    from storage.tokenizer import BAG, SEQUENCE

    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    await db.upgrade()
    await upsert(db, [record(1), replace(record(2), title="央行宣布降准")])
    async with db.engine.begin() as conn:  # back to a store of 0004, indexed as a bag
        await conn.run_sync(lambda sync: command.downgrade(_alembic_config(sync), "0004"))
    async with db.engine.connect() as conn:
        assert await conn.scalar(text("SELECT value FROM meta")) == BAG.id
        bag = await conn.scalar(text("SELECT title FROM article_fts WHERE rowid = 2"))
    assert "央行" in bag.split()
    await db.upgrade()
    async with db.engine.connect() as conn:
        assert await conn.scalar(text("SELECT value FROM meta")) == SEQUENCE.id
        assert await conn.scalar(text("SELECT count(*) FROM article_fts")) == 2
        sequence = await conn.scalar(text("SELECT title FROM article_fts WHERE rowid = 2"))
    assert sequence.split()[:2] == ["央", "行"]
    async with db.session() as session:
        assert [hit.article.title for hit in await search(session, "降准")] == ["央行宣布降准"]
    await db.dispose()


async def test_migration_0006_gives_band_rows_their_fingerprint(tmp_path):
    from alembic import command
    from sqlalchemy import text

    from storage.db import Database, _alembic_config

    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    await db.upgrade()
    story = replace(
        record(1), title="央行宣布降准", paragraphs=[("央行决定下调存款准备金率。", False)]
    )
    await upsert(db, [story, record(2)])
    async with db.engine.begin() as conn:  # back to 0005: band rows without fingerprints
        await conn.run_sync(lambda sync: command.downgrade(_alembic_config(sync), "0005"))
    await db.upgrade()
    async with db.engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM article_bands b JOIN articles a ON a.id = b.article_id"
                    " WHERE b.fingerprint = a.fingerprint"
                )
            )
        ).scalar()
        assert rows == 8
    copy = replace(story, key="copy", file="copy.md", content_hash="copy", source="另一家")
    await upsert(db, [copy])
    async with db.engine.connect() as conn:
        stories = dict((await conn.execute(text("SELECT key, story_id FROM articles"))).all())
    assert stories["copy"] == stories[story.key] != stories[record(2).key]
    await db.dispose()


async def test_the_plain_sql_knows_the_newest_migration_as_alembic_does(sqlite_database):
    """`newsbot latest` reads a SQLite file without SQLAlchemy only at the head revision."""
    path = sqlite_database.engine.url.database
    url = f"sqlite:///{path}"
    current = sqlite_latest.open_current(url)
    assert current is not None
    with closing(current):
        stored = current.execute("SELECT version_num FROM alembic_version").fetchall()
        assert stored == [(head_revision(),)]
    with closing(sqlite3.connect(path)) as driver:
        driver.execute("UPDATE alembic_version SET version_num = '0009'")
        driver.commit()
        assert sqlite_latest.open_current(url) is None
        driver.execute("DROP TABLE alembic_version")
        driver.commit()
        assert sqlite_latest.open_current(url) is None
    assert sqlite_latest.open_current(f"sqlite:///{path}.missing") is None
    assert sqlite_latest.open_current("postgresql://localhost/x") is None


async def test_postgresql_sessions_run_without_jit_and_keep_the_callers_settings(
    postgres_database: Database,
) -> None:
    """JIT compiling cost the `/categories` count at 100k posts 315 of its 880 ms; the store's
    connections turn it off, beside the `search_path` the test store gives its own schema."""

    def settings(session: Session) -> tuple[str, str]:
        jit = session.execute(text("SHOW jit")).scalar_one()
        return jit, session.execute(text("SELECT current_schema()")).scalar_one()

    async with postgres_database.session() as session:
        jit = (await session.execute(text("SHOW jit"))).scalar_one()
        schema = (await session.execute(text("SELECT current_schema()"))).scalar_one()
    assert jit == "off" and schema.startswith("t_")
    assert await postgres_database.read(settings) == ("off", schema)
    assert await postgres_database.read(settings, short=True) == ("off", schema)

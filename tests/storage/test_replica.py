"""Reads from a real PostgreSQL streaming replica, writes to its primary (`.ci/replica.sh` makes
the pair; its URLs come in `NEWSBOT_TEST_REPLICA_PRIMARY_URL` and `NEWSBOT_TEST_REPLICA_URL`)."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial

import pytest
from conftest import IN_CI
from sqlalchemy import text
from sqlalchemy.orm import Session
from store_support import record

from bot.services.browse import categories
from bot.settings import load_settings
from bot.store import database_of
from storage.db import Database
from storage.repository import ArticleRepository
from storage.views import latest_views

PRIMARY_URL = os.environ.get(
    "NEWSBOT_TEST_REPLICA_PRIMARY_URL", "postgresql+asyncpg://postgres@127.0.0.1:5442/postgres"
)
REPLICA_URL = os.environ.get(
    "NEWSBOT_TEST_REPLICA_URL", "postgresql+asyncpg://postgres@127.0.0.1:5443/postgres"
)
WINDOW = 1.0

pytestmark = pytest.mark.postgres


def _dsn(url: str) -> str:
    return url.replace("+asyncpg", "")


async def _pair_up() -> str | None:
    """None when both answer and the second one replays the first; else what is wrong."""
    import asyncpg  # type: ignore[import-untyped]

    try:
        primary = await asyncpg.connect(_dsn(PRIMARY_URL), timeout=3)
        replica = await asyncpg.connect(_dsn(REPLICA_URL), timeout=3)
    except (OSError, asyncpg.PostgresError) as exc:
        return f"the replica pair is not reachable ({exc}): run `bash .ci/replica.sh`"
    try:
        if await primary.fetchval("SELECT pg_is_in_recovery()"):
            return f"{PRIMARY_URL} is not a primary"
        if not await replica.fetchval("SELECT pg_is_in_recovery()"):
            return f"{REPLICA_URL} is not a replica"
    finally:
        await primary.close()
        await replica.close()
    return None


async def _eventually(check: Callable[[], Awaitable[bool]], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.05)
    return False


@pytest.fixture
async def schema() -> AsyncIterator[str]:
    """A schema of this test's own on the primary, once the replica has it too."""
    import asyncpg

    problem = await _pair_up()
    if problem:
        if IN_CI:
            pytest.fail(f"{problem} (under CI, .ci/run starts it)")
        pytest.skip(problem)
    name = f"r_{uuid.uuid4().hex[:12]}"
    primary = await asyncpg.connect(_dsn(PRIMARY_URL))
    replica = await asyncpg.connect(_dsn(REPLICA_URL))
    try:
        await primary.execute(f'CREATE SCHEMA "{name}"')

        async def replicated() -> bool:
            query = "SELECT count(*) FROM pg_namespace WHERE nspname = $1"
            return bool(await replica.fetchval(query, name))

        assert await _eventually(replicated)
        yield name
    finally:
        await replica.execute("SELECT pg_wal_replay_resume()")
        await replica.close()
        await primary.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        await primary.close()


def _in_schema(name: str) -> dict[str, object]:
    return {"connect_args": {"server_settings": {"search_path": name}}}


def _on_replica(session: Session) -> bool:
    return bool(session.execute(text("SELECT pg_is_in_recovery()")).scalar())


def _keys(session: Session) -> list[str]:
    return [view.key for view in latest_views(session, limit=50)]


async def _write(db: Database, *numbers: int) -> None:
    async with db.session() as session, session.begin():
        await ArticleRepository(session).upsert_many([record(n) for n in numbers])


async def test_reads_go_to_the_replica_and_follow_a_write_to_the_primary(schema: str) -> None:
    db = Database(PRIMARY_URL, read_url=REPLICA_URL, read_after_write=WINDOW, **_in_schema(schema))
    try:
        await db.upgrade()
        await _write(db, 1)
        # Right after this process wrote, its reads see the write: they go to the primary.
        assert not await db.read(_on_replica)
        assert await db.read(_keys) == [record(1).key]
        async with db.read_session() as session:
            assert not await session.scalar(text("SELECT pg_is_in_recovery()"))

        await asyncio.sleep(WINDOW)
        assert await db.read(_on_replica)
        async with db.read_session() as session:
            assert await session.scalar(text("SELECT pg_is_in_recovery()"))
        assert await _eventually(partial(_replica_has, db, [record(1).key]))
    finally:
        await db.dispose()


async def _replica_has(db: Database, keys: list[str]) -> bool:
    return await db.read(_keys) == keys


async def test_a_lagging_replica_is_not_read_right_after_a_write(schema: str) -> None:
    """With the replica's replay paused (lag as long as we like), a reply right after an ingest
    still shows it; once the window is over, reads go back to the (stale) replica."""
    import asyncpg

    db = Database(PRIMARY_URL, read_url=REPLICA_URL, read_after_write=WINDOW, **_in_schema(schema))
    replica = await asyncpg.connect(_dsn(REPLICA_URL))
    try:
        await db.upgrade()
        await _write(db, 1)
        await asyncio.sleep(WINDOW)
        assert await _eventually(partial(_replica_has, db, [record(1).key]))

        await replica.execute("SELECT pg_wal_replay_pause()")
        await _write(db, 2)
        assert await db.read(_keys) == [record(2).key, record(1).key]
        assert (await categories(db)).entries  # services read the same way

        await asyncio.sleep(WINDOW)
        assert await db.read(_on_replica)
        assert await db.read(_keys) == [record(1).key]  # the replica is behind, really

        await replica.execute("SELECT pg_wal_replay_resume()")
        assert await _eventually(partial(_replica_has, db, [record(2).key, record(1).key]))
    finally:
        await replica.execute("SELECT pg_wal_replay_resume()")
        await replica.close()
        await db.dispose()


async def test_a_replica_that_is_down_leaves_reads_to_the_primary(schema: str) -> None:
    closed = "postgresql+asyncpg://postgres@127.0.0.1:9/postgres"
    db = Database(PRIMARY_URL, read_url=closed, read_after_write=0, **_in_schema(schema))
    try:
        await db.upgrade()
        await _write(db, 1)
        assert await db.read(_keys) == [record(1).key]
    finally:
        await db.dispose()


def test_the_bot_reads_from_the_replica_the_settings_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NEWSBOT_DATABASE_URL", PRIMARY_URL)
    monkeypatch.setenv("NEWSBOT_DATABASE_READ_URL", REPLICA_URL)
    monkeypatch.setenv("NEWSBOT_DATABASE_READ_AFTER_WRITE", "2.5")
    db = database_of(load_settings())
    assert db.read_url == REPLICA_URL and db.read_after_write == 2.5
    assert db.reads_replica()
    monkeypatch.delenv("NEWSBOT_DATABASE_READ_URL")
    assert not database_of(load_settings()).reads_replica()


async def test_a_read_whose_connection_the_server_dropped_runs_again(database: Database) -> None:
    if database.dialect != "postgresql":
        pytest.skip("PostgreSQL reads keep connections without a ping")
    await _write(database, 1)

    def backend_pid(session: Session) -> int:
        return int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())

    pid = await database.read(backend_pid)
    async with database.session() as session:
        await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    assert await database.read(_keys) == [record(1).key]
    assert await database.read(backend_pid) != pid

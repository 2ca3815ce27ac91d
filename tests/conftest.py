"""Shared fixtures: the real corpus from ../shared and a store on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from storage.db import Database

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("NEWSBOT_SHARED_DIR", REPO.parent / "shared"))
CORPUS = SHARED / "corpus" / "finews"
SUMM_DEV = SHARED / "data" / "summ-dev.jsonl"
SYNTH = SHARED / "tools" / "synth_corpus.py"
PG_URL = os.environ.get("NEWSBOT_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


SHARED_SKIP = "needs the shared corpus"
KEPT_ENV = ("NEWSBOT_TEST_", "NEWSBOT_SHARED_DIR")
"""The NEWSBOT_* variables that configure the tests themselves, not the bot they run."""


def isolate_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings as a test sees them: no NEWSBOT_* of the developer's shell and no `.env`, so a
    NEWSBOT_SOURCES there does not schedule real ingests; a test sets what it needs."""
    from bot.settings import Settings

    for name in [k for k in os.environ if k.startswith("NEWSBOT_")]:
        if not name.startswith(KEPT_ENV):
            monkeypatch.delenv(name)
    monkeypatch.setitem(Settings.model_config, "env_file", None)


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_settings(monkeypatch)


def need_shared(path: Path) -> Path:
    """The third-party data lives outside the repo: skip without it, but never under CI."""
    if not path.exists():
        if IN_CI:
            pytest.fail(f"{path} is missing under CI (CI=true): see README.md, section Tests")
        pytest.skip(f"{SHARED_SKIP}: {path} is not here (the shared data sits beside the checkout)")
    return path


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line at the end when tests were skipped for want of ../shared, which `-q` hides."""
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if SHARED_SKIP in str(getattr(report, "longrepr", ""))
    ]
    if skipped:
        terminalreporter.write_line(
            f"newsbot: {len(skipped)} tests skipped because {SHARED} (the third-party corpus "
            "beside the checkout) is missing; see README.md, section Tests",
            yellow=True,
        )


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    return need_shared(CORPUS)


@pytest.fixture(scope="session")
def corpus_files(corpus_dir: Path) -> list[Path]:
    return sorted(p for p in corpus_dir.iterdir() if p.suffix == ".md")


async def _postgres_reachable() -> bool:
    import asyncpg  # type: ignore[import-untyped]

    try:
        conn = await asyncpg.connect(PG_URL.replace("+asyncpg", ""), timeout=3)
    except (OSError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


async def _fresh_postgres() -> tuple[Database, str]:
    import asyncpg

    if not await _postgres_reachable():
        if IN_CI:
            pytest.fail(f"PostgreSQL at {PG_URL} is not reachable under CI")
        pytest.skip(f"PostgreSQL at {PG_URL} is not reachable")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(PG_URL.replace("+asyncpg", ""))
    await conn.execute(f'CREATE SCHEMA "{schema}"')
    await conn.close()
    db = Database(PG_URL, connect_args={"server_settings": {"search_path": schema}})
    return db, schema


async def _drop_schema(schema: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_URL.replace("+asyncpg", ""))
    await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    await conn.close()


@asynccontextmanager
async def _postgres_store() -> AsyncIterator[Database]:
    """A migrated, empty PostgreSQL store in a schema of its own, dropped after."""
    db, schema = await _fresh_postgres()
    try:
        await db.upgrade()
        yield db
    finally:
        await db.dispose()
        await _drop_schema(schema)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty store; each PostgreSQL test gets a schema of its own, dropped after."""
    if request.param == "postgresql":
        async with _postgres_store() as db:
            yield db
        return
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    await db.upgrade()
    yield db
    await db.dispose()


@pytest.fixture
async def sqlite_database(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    await db.upgrade()
    yield db
    await db.dispose()


@pytest.fixture
async def postgres_database() -> AsyncIterator[Database]:
    async with _postgres_store() as db:
        yield db


@pytest_asyncio.fixture(
    scope="module",
    loop_scope="module",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
async def corpus_db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Database]:
    """The corpus ingested once per test module, on SQLite and on PostgreSQL."""
    from bot.ingest.pipeline import ingest
    from bot.services.articles import COUNTS
    from bot.settings import load_settings

    corpus = need_shared(CORPUS)
    schema = None
    if request.param == "sqlite":
        db = Database(f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('corpus') / 'store.db'}")
    else:
        db, schema = await _fresh_postgres()
    await db.upgrade()
    report = await ingest(db, [str(corpus)], settings=load_settings())
    assert report.added > 100 and not report.failed
    COUNTS.clear()  # PostgreSQL schemas share one URL, the totals' cache key
    try:
        yield db
    finally:
        COUNTS.clear()
        await db.dispose()
        if schema:
            await _drop_schema(schema)


@pytest.fixture
async def demo_store(database: Database) -> Database:
    """The store with the sample posts that ship in bot/demo."""
    from store_support import DEMO_DIR

    from bot.ingest.pipeline import ingest
    from bot.settings import load_settings

    report = await ingest(database, [str(DEMO_DIR)], settings=load_settings())
    assert (report.added, report.failed) == (7, [])
    return database

"""Engines, sessions and migrations for SQLite (aiosqlite) and PostgreSQL (asyncpg)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session

from storage import pg_bulk
from storage.sqlite_latest import script_heads

T = TypeVar("T")
READER_THREADS = 4
# After this process commits on the primary, its reads stay there this long (seconds): a reply
# right after an admin's ingest must show it, whatever the replica's lag.
READ_AFTER_WRITE_SECONDS = 5.0

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+pysqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "postgresql+psycopg2": "postgresql+asyncpg",
    "postgresql+psycopg": "postgresql+asyncpg",
}


class DatabaseURLError(ValueError):
    pass


def normalize_url(url: str) -> str:
    """Map plain `sqlite:///…` and `postgresql://…` URLs onto the async drivers."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseURLError(f"not a database URL: {url!r}") from exc
    driver = _ASYNC_DRIVERS.get(parsed.drivername, parsed.drivername)
    if driver not in {"sqlite+aiosqlite", "postgresql+asyncpg"}:
        raise DatabaseURLError(
            f"unsupported database {parsed.drivername!r}: use sqlite:/// or postgresql://"
        )
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


def url_from_parts(
    *, host: str, port: int | None, user: str | None, password: str | None, name: str | None
) -> str:
    """A PostgreSQL URL with every part escaped by SQLAlchemy (`@`, `:`, `/`, `%` and so on)."""
    url = URL.create(
        "postgresql+asyncpg", username=user, password=password, host=host, port=port, database=name
    )
    return url.render_as_string(hide_password=False)


def sqlite_file(url: str) -> str | None:
    """The file a SQLite URL names; None for memory or another backend."""
    parsed = make_url(normalize_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return None if "mode=memory" in url else parsed.database


StoreError = SQLAlchemyError
"""Any failure of the store, for callers outside `storage/` that report one."""


def driver_error(exc: BaseException) -> BaseException:
    """The driver's own error inside SQLAlchemy's wrapper: its message names the problem
    without the statement or its parameters."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        return exc.orig
    return exc


def _pragmas(*settings: str) -> Callable[[Any, Any], None]:

    def run(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        for setting in settings:
            cursor.execute(f"PRAGMA {setting}")
        cursor.close()

    return run


_sqlite_settings = _pragmas("busy_timeout=30000", "foreign_keys=ON", "synchronous=NORMAL")
_sqlite_wal = _pragmas("journal_mode=WAL")


def _sqlite_pragmas(dbapi_connection: Any, record: Any) -> None:
    """The settings, then WAL. Switching a new file to WAL reads its header, then writes it:
    that upgrade from read to write never waits (busy_timeout is not asked), so while another
    process writes the new file (its own switch, its migration) it fails at once with
    "database is locked". Retried here for as long as busy_timeout would have waited."""
    _sqlite_settings(dbapi_connection, record)
    deadline = time.monotonic() + 30.0
    while True:
        try:
            _sqlite_wal(dbapi_connection, record)
            return
        except Exception as exc:
            if "database is locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(0.01)


_sqlite_reader_pragmas = _pragmas("busy_timeout=30000", "query_only=ON")


class SqliteReader:
    """Read-only queries on a SQLite file, each run whole in one of a few threads.

    Through aiosqlite every statement, fetch and rollback is a hop to its thread and back
    (about 1 ms for a short listing, 3 ms at p99, against 0.06 ms of SQL); here a whole read is
    one hop, on its own connection (WAL lets it read while the writer writes).
    """

    def __init__(self, url: str) -> None:
        sync_url = make_url(url).set(drivername="sqlite+pysqlite")
        # One connection more than threads: the one short reads keep.
        self.engine = sqlalchemy.create_engine(
            sync_url, pool_size=READER_THREADS + 1, max_overflow=0
        )
        event.listen(self.engine, "connect", _sqlite_reader_pragmas)
        self._threads = ThreadPoolExecutor(READER_THREADS, thread_name_prefix="newsbot-read")
        self._short_thread = ThreadPoolExecutor(1, thread_name_prefix="newsbot-short-read")
        self._short: sqlalchemy.Connection | None = None
        self._short_lock = threading.Lock()

    async def run(self, query: Callable[[Session], T], *, short: bool = False) -> T:
        loop = asyncio.get_running_loop()
        if short:
            # Even a read of a few indexed rows leaves the loop: run on it, a read that meets
            # a cold page cache or a checkpoint stalls every chat the bot is serving.
            return await loop.run_in_executor(self._short_thread, self._run_short, query)
        return await loop.run_in_executor(self._threads, self._run, query)

    def _run(self, query: Callable[[Session], T]) -> T:
        with Session(self.engine) as session:
            return query(session)

    def _run_short(self, query: Callable[[Session], T]) -> T:
        """On a connection kept for short reads: checking one out of the pool and handing it
        back (with its reset) for each read cost about as much as a short read's SQL.

        Keeping it holds no snapshot: pysqlite begins no transaction for reads, so each
        statement sees what was committed. Another thread's short read, while this one runs,
        takes a pooled connection instead.
        """
        if not self._short_lock.acquire(blocking=False):
            return self._run(query)
        try:
            if self._short is None:
                self._short = self.engine.connect()
            try:
                with Session(self._short) as session:
                    return query(session)
            except BaseException:
                self._short.invalidate()
                self._short.close()
                self._short = None
                raise
        finally:
            self._short_lock.release()

    def close(self) -> None:
        self._threads.shutdown(wait=True)
        self._short_thread.shutdown(wait=True)
        with self._short_lock:
            if self._short is not None:
                self._short.close()
                self._short = None
        self.engine.dispose()


class PgReader:
    """Read-only queries on PostgreSQL on an event loop of their own, in one thread: the ORM's
    work on each row and the query function's own Python (a search scores ~185 candidates)
    then leave the bot's loop, as `SqliteReader` does for SQLite. A `short` read (a page of an
    index scan) stays on the caller's loop: the two hops between threads cost more than its
    Python (`/latest`'s read p99 3.3 ms through the thread, 1.5 ms on the loop, at 100k).
    In autocommit and without a ping: a page of `/latest` is two round trips (its two
    statements), not five (ping, BEGIN, both, ROLLBACK). A connection that went stale in the
    pool fails its read, which runs once more."""

    def __init__(self, engine_kwargs: dict[str, Any]) -> None:
        self._kwargs = {**engine_kwargs, "pool_pre_ping": False}
        self._engines: dict[tuple[str, bool], AsyncEngine] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="newsbot-pg-read", daemon=True
        )
        self._thread.start()

    async def run(self, url: str, query: Callable[[Session], T], *, short: bool) -> T:
        if short:
            return await self._read(url, query, here=True)
        done = asyncio.run_coroutine_threadsafe(self._read(url, query, here=False), self._loop)
        return await asyncio.wrap_future(done)

    async def _read(self, url: str, query: Callable[[Session], T], *, here: bool) -> T:
        engine = self._engines.get((url, here))
        if engine is None:
            engine = create_engine(url, isolation_level="AUTOCOMMIT", **self._kwargs)
            self._engines[url, here] = engine
        for attempt in (1, 2):
            try:
                async with AsyncSession(engine) as session:
                    return await session.run_sync(query)
            except sqlalchemy.exc.DBAPIError as exc:
                if attempt == 2 or not exc.connection_invalidated:
                    raise
        raise AssertionError("unreachable")

    async def close(self) -> None:
        async def dispose(here: bool) -> None:
            for (_, near), engine in self._engines.items():
                if near is here:
                    await engine.dispose()

        await dispose(True)
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(dispose(False), self._loop))
        self._loop.call_soon_threadsafe(self._loop.stop)
        await asyncio.to_thread(self._thread.join)
        self._loop.close()


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine that never logs statement parameters (they hold whole posts)."""
    url = normalize_url(url)
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        # The driver's own wait on a locked file, from the moment it opens it: the pragmas run
        # at connect may meet another process migrating a new store.
        connect_args = {"timeout": 30.0, **kwargs.pop("connect_args", {})}
        engine = create_async_engine(url, connect_args=connect_args, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    # PostgreSQL compiles a plan's expressions (JIT) once its estimate passes `jit_above_cost`:
    # at 100k posts the `/categories` count spent 315 of its 880 ms compiling, and ran in
    # 258-315 ms without. The bot's statements run once each and briefly, so the compile never
    # pays for itself; a caller's own `server_settings` still win.
    connect_args = kwargs.pop("connect_args", {})
    server_settings = {"jit": "off", **connect_args.get("server_settings", {})}
    return create_async_engine(
        url, connect_args={**connect_args, "server_settings": server_settings}, **kwargs
    )


def _alembic_config(connection: Any = None) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


# Any constant shared by every newsbot process: PostgreSQL advisory locks are per database.
MIGRATION_LOCK_KEY = 0x6E657773_626F7401


def migration_lock_path(engine: AsyncEngine) -> Path | None:
    """The lock file beside a SQLite file; None for memory or other backends."""
    database = sqlite_file(str(engine.url))
    return Path(database + ".migrate.lock") if database else None


@asynccontextmanager
async def _file_lock(path: Path | None) -> AsyncIterator[None]:
    """Hold an exclusive lock on `path` (waited for in a thread, not on the event loop)."""
    if path is None:
        yield
        return
    from filelock import FileLock

    lock = FileLock(str(path))
    await asyncio.to_thread(lock.acquire)
    try:
        yield
    finally:
        lock.release()


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Run Alembic migrations up to `revision` on the engine's database.

    Serialized across processes: by a lock file beside a SQLite file, by a transaction-level
    advisory lock on PostgreSQL. A second process waits, then finds the schema done.
    """
    from alembic import command

    def _run(sync_conn: Any) -> None:
        command.upgrade(_alembic_config(sync_conn), revision)

    async with _file_lock(migration_lock_path(engine)), engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(
                sqlalchemy.text("SELECT pg_advisory_xact_lock(:key)"),
                {"key": MIGRATION_LOCK_KEY},
            )
        await conn.run_sync(_run)


async def current_revision(engine: AsyncEngine) -> str | None:
    """The store's revision: read straight from `alembic_version` when it holds one row
    (importing Alembic takes longer than a short command's whole work), else by Alembic."""

    def _get(sync_conn: Any) -> str | None:
        if sqlalchemy.inspect(sync_conn).has_table("alembic_version"):
            rows = sync_conn.execute(sqlalchemy.text("SELECT version_num FROM alembic_version"))
            found = [row[0] for row in rows]
            if len(found) == 1:
                return str(found[0])
        from alembic.runtime.migration import MigrationContext

        return MigrationContext.configure(sync_conn).get_current_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(_get)


@cache
def head_revision() -> str | None:
    """The newest migration, from the scripts' `revision`/`down_revision` lines when they
    form one chain (without importing Alembic and every script), else by Alembic."""
    heads = script_heads()
    if len(heads) == 1:
        return heads[0]
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def _settle(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class Database:
    """One engine and its session factory; the unit the bot and the CLI share.

    With a `read_url` (a PostgreSQL streaming replica of `url`), `read` and `read_session` go to
    the replica, except for `read_after_write` seconds after this process last committed on the
    primary (a replica replays the primary's WAL a little later), or when the replica fails.
    """

    def __init__(
        self,
        url: str,
        *,
        read_url: str | None = None,
        read_after_write: float = READ_AFTER_WRITE_SECONDS,
        **engine_kwargs: Any,
    ) -> None:
        self.url = normalize_url(url)
        self.engine = create_engine(self.url, **engine_kwargs)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self._lock = asyncio.Lock()
        self._reader: SqliteReader | None = None
        self._readable = sqlite_file(self.url) is not None
        self.read_url = normalize_url(read_url) if read_url else None
        self.read_after_write = read_after_write
        self.replica: AsyncEngine | None = None
        self._replica_sessions: async_sessionmaker[AsyncSession] | None = None
        self._last_commit = -float("inf")
        self._engine_kwargs = engine_kwargs
        self._pg_reader: PgReader | None = None
        self.last_read = -float("inf")
        """When a `read` last started (monotonic): an ingest beside the replies yields to them."""
        self._reads_in_flight = 0
        self._settled: list[asyncio.Future[None]] = []
        if self.read_url:
            self.replica = create_engine(self.read_url, **engine_kwargs)
            self._replica_sessions = async_sessionmaker(self.replica, expire_on_commit=False)
            event.listen(self.engine.sync_engine, "commit", self._committed)

    def _committed(self, _conn: Any) -> None:
        self._last_commit = time.monotonic()

    def reads_replica(self) -> bool:
        """Whether a read now goes to the replica: there is one, and this process wrote
        nothing on the primary for `read_after_write` seconds."""
        return (
            self._replica_sessions is not None
            and time.monotonic() - self._last_commit >= self.read_after_write
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def upgrade(self) -> None:
        await upgrade(self.engine)

    async def ensure_schema(self) -> None:
        """Bring a SQLite store up to date on first use; PostgreSQL must be upgraded explicitly."""
        async with self._lock:
            current = await current_revision(self.engine)
            if current == head_revision():
                return
            if self.dialect == "sqlite":
                await self.upgrade()
                return
            raise RuntimeError(
                f"the database schema is at {current or 'nothing'}, not {head_revision()}: "
                "run `newsbot db upgrade`"
            )

    def session(self) -> AsyncSession:
        """A new session; `async with` it to close it."""
        return self.sessionmaker()

    async def build_search_index(self) -> None:
        """Build what a first load's `ArticleRepository.defer_search_index` left out (also what
        a crashed load left out), in several sessions at once (`pg_bulk.build_search_indexes`);
        SQLite's FTS5 index has nothing to build."""
        if self.dialect == "postgresql":
            await pg_bulk.build_search_indexes(self.session)

    async def read(self, query: Callable[[Session], T], *, short: bool = False) -> T:
        """Run a read-only query function on a plain `Session`, the cheapest way per backend:
        on a SQLite file in a reader thread (`SqliteReader`; when the caller knows it is `short`,
        such as a page of an index scan, in one thread kept for short reads and their kept
        connection), on PostgreSQL on the reader loop (`PgReader`; a `short` one on this loop),
        else through the async session's `run_sync`. What it returns is detached: load what
        you need eagerly."""
        with self._reading():
            return await self._read(query, short=short)

    async def _read(self, query: Callable[[Session], T], *, short: bool) -> T:
        if self._readable:
            if self._reader is None:
                self._reader = SqliteReader(self.url)
            return await self._reader.run(query, short=short)
        if self.dialect != "postgresql":
            async with self.session() as session:
                return await session.run_sync(query)
        if self.read_url and self.reads_replica():
            try:
                return await self._read_on(self.read_url, query, short=short)
            except (OSError, sqlalchemy.exc.DBAPIError) as exc:
                # down, or a query cancelled by a conflict with recovery: the primary answers
                log.warning("the read replica failed (%s); reading the primary", exc)
        return await self._read_on(self.url, query, short=short)

    async def _read_on(self, url: str, query: Callable[[Session], T], *, short: bool) -> T:
        if self._pg_reader is None:
            self._pg_reader = PgReader(self._engine_kwargs)
        return await self._pg_reader.run(url, query, short=short)

    @asynccontextmanager
    async def read_session(self) -> AsyncIterator[AsyncSession]:
        """A session for reads only: on the replica when `reads_replica`, else the primary."""
        with self._reading():
            if self._replica_sessions is not None and self.reads_replica():
                async with self._replica_sessions() as session:
                    yield session
                return
            async with self.session() as session:
                yield session

    @contextmanager
    def _reading(self) -> Iterator[None]:
        self.last_read = time.monotonic()
        self._reads_in_flight += 1
        try:
            yield
        finally:
            self._reads_in_flight -= 1
            if not self._reads_in_flight:
                settled, self._settled = self._settled, []
                for waiter in settled:
                    if not waiter.done():
                        waiter.get_loop().call_soon_threadsafe(_settle, waiter)

    async def reads_settled(self, longest: float) -> None:
        """Return once no `read` or `read_session` is in flight, or after `longest` seconds:
        an ingest beside the replies writes between them rather than across them, since on
        two cores a reply that meets a write waits for the CPU (issue 13: 20 users' p99 was
        1.7-2.7 times as high during an ingest)."""
        deadline = time.monotonic() + longest
        while self._reads_in_flight:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            waiter = asyncio.get_running_loop().create_future()
            self._settled.append(waiter)
            try:
                await asyncio.wait_for(waiter, left)
            except TimeoutError:
                return

    async def size_bytes(self) -> int | None:
        """The store's size on disk: the SQLite file and its WAL, or PostgreSQL's own figure."""
        if self.dialect == "sqlite":
            name = self.engine.url.database
            if not name or name == ":memory:":
                return None
            paths = [Path(name), Path(name + "-wal")]
            return sum(p.stat().st_size for p in paths if p.exists())
        async with self.session() as session:
            size = await session.scalar(
                sqlalchemy.text("SELECT pg_database_size(current_database())")
            )
        return int(size) if size is not None else None

    async def dispose(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self.replica is not None:
            await self.replica.dispose()
        if self._pg_reader is not None:
            await self._pg_reader.close()
            self._pg_reader = None
        await self.engine.dispose()

"""Load benchmark: reply times of N simulated users while the bot works. Prints JSON.

    .venv/bin/python bench/load_bench.py --database-url sqlite:///path/store.db --users 20
    .venv/bin/python bench/load_bench.py --database-url postgresql://postgres@127.0.0.1/db

The real bot (`newsbot run`, a subprocess: its own event loop, as in production) long-polls
the project's fake Bot API (tests/fakebotapi.py) over real HTTP. N users in private chats send
`/search`, `/latest`, `/category` and `/tags`, `--think` (0.2–0.6 s) apart, each waiting for
its reply; a reply's time runs from the update being offered to the bot until its
`sendMessage` arrives.
Phases, one after the other on the same store (`--phases` picks which follow `steady`):
- `steady`: the users alone (the baseline of every ratio);
- `ingest`: while an admin's `/ingest` adds M new posts (copies of `--posts-from` posts, or of
  `synth_corpus.py` posts, under fresh ids so every run adds them anew);
- `trending`: while one more user sends `/trending` every `--trending-interval` (its own
  times too);
- `push`: while a push round fans new articles out to `--push-chats` subscribed chats (one
  message per headline; `push_duplicates` counts a chat given the same text twice).
For each phase: p50/p99/max in ms, the p99 ratio to steady, replies and missing replies (none
within `--reply-timeout`); for `ingest` also the replies asked while it ran (`while_working`)
and after it (`after_work`: what the ingest set off, such as recounts).

Two floors, measured on the same store in the same run. Before the bot starts, each command
the users send is answered twice through the bot's own services (`ConsoleChat`) and the SQL
statements of the second answer (its caches warm, as in steady use) are recorded.
- `raw_bot` (the floor of `steady`): a minimal responder in its own process, without PTB,
  SQLAlchemy or a rate limiter, long-polls the same fake Bot API over aiohttp (the bot's
  transport, `bot.telegram_http`) and answers each
  message by running its command's recorded statements through the bare driver (sqlite3 on
  its event loop; asyncpg on a pool of 5) and sending the rows' titles with `sendMessage`.
  The same users, think time and phase length, before the real bot starts (never both at
  once). `steady_p99_to_raw_bot_p99` is issue 13's "steady p99 ≤ 2× the raw SQL".
- `raw_sql` (the SQL alone, no transport): the recorded statements replayed in this process
  through the bare driver, one command after another in the users' mix (`--raw-samples`);
  `steady_p99_to_raw_sql_p99` compares the two.
The machine is shared: compare ratios, not absolute times.

The phases write to the store (the ingest's posts, the push's articles and subscriptions), so
the benchmark runs on a copy of it, made before anything connects and dropped at the end:
SQLite's file through its backup API, a PostgreSQL database as a template of a new one. Every
run then starts from the same store, and the one named is left as it was (`--in-place` runs on
it instead, and leaves the new posts in it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pickle
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]  # the repository first: tests/bot is no package
sys.path.insert(0, str(REPO / "bench"))

# The project's modules (SQLAlchemy, PTB) load inside the functions that use them: the raw
# bot runs this file in its own process and must load neither.
if TYPE_CHECKING:
    from fakebotapi import FakeBotAPI

TOKEN = "123456:LOAD-BENCH"
ADMIN_ID = 777
USER_BASE = 50_000
TRENDING_CHAT = 49_999
PUSH_BASE = 2_000_000_000
PHASES = ("ingest", "trending", "push")
PUSHED_POSTS = 2
PUSH_SETTLE_SECONDS = 2.0
"""The push phase counts messages until none came for this long."""
QUERIES = ["中国", "经济", "市场", "银行", "央行", "人民币 汇率", "股份", "科技", "上海", "xyzzy"]
_ID = re.compile(r"(\d{18})")


def fresh_posts(source: Path, count: int, folder: Path, rng: random.Random) -> Path:
    """`count` posts copied from `source` under new random 18-digit ids (file name and text),
    so that each run's ingest adds new articles."""
    folder.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in source.rglob("*") if p.suffix in {".md", ".html"})
    for n in range(count):
        original = files[n % len(files)]
        text = original.read_text(encoding="utf-8")
        found = _ID.search(original.name)
        name = original.name
        new_id = str(rng.randrange(10**17, 10**18))
        if found:  # the id starts with the post's date, which a post may rely on
            new_id = found.group(1)[:8] + new_id[8:]
            text = text.replace(found.group(1), new_id)
            name = name.replace(found.group(1), new_id)
        else:
            name = f"{original.stem}-{new_id}{original.suffix}"
        (folder / f"{n:05d}-{name}").write_text(text + f"\n\n<!-- {new_id} -->\n", encoding="utf-8")
    return folder


def synth_posts(count: int, folder: Path, seed: int) -> Path:
    from common import SYNTH

    subprocess.run(
        [
            sys.executable,
            str(SYNTH),
            "--count",
            str(count),
            "--seed",
            str(seed),
            "--out",
            str(folder),
        ],
        check=True,
    )
    return folder


class Replies:
    """Per chat, the future of the reply it waits for; set from the fake's server thread."""

    def __init__(self, fake: FakeBotAPI, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.waiting: dict[int, asyncio.Future[float]] = {}
        self.messages: dict[int, int] = {}
        self.pushed: dict[int, list[str]] = {}
        """The texts each pushed chat received: the same one twice is a duplicate push."""
        original: Callable[[dict[str, Any]], Any] = fake.handlers["sendMessage"]

        def send_message(params: dict[str, Any]) -> Any:
            result = original(params)
            arrived = (int(params["chat_id"]), time.monotonic(), str(params["text"]))
            loop.call_soon_threadsafe(self._arrived, *arrived)
            return result

        fake.handlers["sendMessage"] = send_message

    def _arrived(self, chat_id: int, at: float, text: str) -> None:
        self.messages[chat_id] = self.messages.get(chat_id, 0) + 1
        if chat_id >= PUSH_BASE:
            self.pushed.setdefault(chat_id, []).append(text)
        future = self.waiting.pop(chat_id, None)
        if future is not None and not future.done():
            future.set_result(at)

    def expect(self, chat_id: int) -> asyncio.Future[float]:
        future = self.loop.create_future()
        self.waiting[chat_id] = future
        return future


def user_command(rng: random.Random) -> str:
    """One message of a simulated user: half searches, then listings and tag counts."""
    return rng.choice(
        [f"/search {rng.choice(QUERIES)}"] * 3 + ["/latest", "/category emnews", "/tags"]
    )


ALL_COMMANDS = [*(f"/search {q}" for q in QUERIES), "/latest", "/category emnews", "/tags"]

Statement = tuple[str, Any]


async def record_statements(url: str) -> dict[str, list[Statement]]:
    """Per user command, the SQL statements (in the driver's own form) the bot's services run
    to answer it, recorded on the second answer, when the caches a running bot keeps are warm."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from bot.cli.console import ConsoleChat
    from bot.settings import load_settings
    from storage.db import Database

    recorded: list[Statement] | None = None

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if recorded is not None:
            recorded.append((statement, parameters))

    event.listen(Engine, "before_cursor_execute", before)
    db = Database(url)
    try:
        chat = ConsoleChat(db, load_settings(), lang="zh")
        found: dict[str, list[Statement]] = {}
        for command in ALL_COMMANDS:
            await chat.answer(command)
            recorded = []
            await chat.answer(command)
            found[command], recorded = recorded, None
        return found
    finally:
        event.remove(Engine, "before_cursor_execute", before)
        await db.dispose()


def bare_target(url: str) -> tuple[str, str]:
    """("sqlite", the file) or ("postgresql", asyncpg's DSN): what the bare drivers connect to."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return "sqlite", parsed.database or ""
    dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    return "postgresql", dsn


async def raw_sql_times(
    url: str, statements: dict[str, list[Statement]], samples: int, seed: int
) -> list[float]:
    """Seconds per command of the users' mix, its recorded statements run and fetched through
    the bare driver, one after another."""
    rng = random.Random(f"{seed}-raw")
    mix = [user_command(rng) for _ in range(samples)]
    times: list[float] = []
    backend, target = bare_target(url)
    if backend == "sqlite":
        import sqlite3

        def replay() -> None:
            conn = sqlite3.connect(target, check_same_thread=False)
            conn.execute("PRAGMA query_only=ON")  # as the bot's reader connections
            try:
                for command in mix:
                    started = time.perf_counter()
                    for statement, parameters in statements[command]:
                        conn.execute(statement, parameters or ()).fetchall()
                    times.append(time.perf_counter() - started)
            finally:
                conn.close()

        await asyncio.to_thread(replay)
        return times
    import asyncpg

    conn = await asyncpg.connect(target)
    try:
        for command in mix:
            started = time.perf_counter()
            for statement, parameters in statements[command]:
                await conn.fetch(statement, *(parameters or ()))
            times.append(time.perf_counter() - started)
    finally:
        await conn.close()
    return times


RAW_BOT_POLL_SECONDS = 10  # getUpdates' long-poll timeout, PTB's default in run_polling
RAW_BOT_PG_CONNECTIONS = 5  # the size of SQLAlchemy's default pool, which the bot's engine has
NO_ROWS = "没有结果"

Labels = Callable[[list[Statement]], Awaitable[list[str]]]


def label_column(names: list[str]) -> str:
    """What names a row in a reply: its title, else its key (a warm listing's only statement
    asks for its stories' keys), else its first column."""
    return next((name for name in ("title", "key") if name in names), names[0])


def labels_of_rows(found: list[tuple[list[str], list[Any]]]) -> list[str]:
    """The labels of the last statement's rows that have titles, else of the last one's."""
    chosen = next((f for f in reversed(found) if "title" in f[0]), found[-1] if found else None)
    if chosen is None:
        return []
    names, rows = chosen
    at = names.index(label_column(names))
    return [str(row[at]) for row in rows]


async def bare_reader(backend: str, target: str) -> tuple[Labels, Callable[[], Awaitable[None]]]:
    """Runs a command's statements and gives the labels of the rows they returned
    (`labels_of_rows`), and a close. SQLite runs on the event loop itself, as the cheapest a reply
    can get (a whole command is ~0.3 ms); PostgreSQL on a pool of asyncpg connections."""
    if backend == "sqlite":
        import sqlite3

        conn = sqlite3.connect(target)
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("PRAGMA query_only=ON")

        async def sqlite_labels(batch: list[Statement]) -> list[str]:
            found = []
            for statement, parameters in batch:
                cursor = conn.execute(statement, parameters or ())
                rows = cursor.fetchall()
                if rows:
                    found.append(([column[0] for column in cursor.description], rows))
            return labels_of_rows(found)

        async def sqlite_close() -> None:
            conn.close()

        return sqlite_labels, sqlite_close
    import asyncpg

    pool = await asyncpg.create_pool(
        target, min_size=RAW_BOT_PG_CONNECTIONS, max_size=RAW_BOT_PG_CONNECTIONS
    )

    async def pg_labels(batch: list[Statement]) -> list[str]:
        found = []
        async with pool.acquire() as conn:
            for statement, parameters in batch:
                rows = await conn.fetch(statement, *(parameters or ()))
                if rows:
                    found.append((list(rows[0].keys()), rows))
        return labels_of_rows(found)

    return pg_labels, pool.close


def reply_text(command: str, labels: list[str]) -> str:
    return "\n".join(labels[:10])[:4000] or f"{command}: {NO_ROWS}"


async def raw_bot(api: str, backend: str, target: str, statements: dict[str, Any]) -> None:
    """The floor of a reply over the same transport: long-polls `getUpdates` as PTB does,
    answers each message (concurrently, as the bot does) by running the statements recorded
    for its text on the bare driver, and sends the rows' titles (or keys) with `sendMessage`.
    No PTB, no SQLAlchemy, no rate limiter. On SIGTERM it finishes its answers and confirms the
    updates it took, so the real bot started next is not offered them again."""
    import aiohttp

    labels_of, close = await bare_reader(backend, target)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    answering: set[asyncio.Task[None]] = set()
    offset = 0
    limits = aiohttp.ClientTimeout(sock_read=RAW_BOT_POLL_SECONDS + 10.0)
    async with (
        aiohttp.ClientSession(timeout=limits, raise_for_status=True) as polls,
        aiohttp.ClientSession(raise_for_status=True) as sends,
    ):

        async def answer(chat_id: int, text: str) -> None:
            labels = await labels_of(statements.get(text, []))
            reply = {"chat_id": chat_id, "text": reply_text(text, labels)}
            async with sends.post(f"{api}/sendMessage", data=reply) as sent:
                await sent.read()

        async def updates(asked: dict[str, int]) -> list[dict[str, Any]]:
            async with polls.post(f"{api}/getUpdates", data=asked) as answered:
                found: list[dict[str, Any]] = (await answered.json())["result"]
                return found

        stopping = asyncio.create_task(stop.wait())
        while not stop.is_set():
            asked = {"offset": offset, "timeout": RAW_BOT_POLL_SECONDS}
            poll = asyncio.create_task(updates(asked))
            await asyncio.wait({poll, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not poll.done():
                poll.cancel()
                break
            for update in poll.result():
                offset = update["update_id"] + 1
                message = update.get("message") or {}
                if "text" in message:
                    task = asyncio.create_task(answer(message["chat"]["id"], message["text"]))
                    answering.add(task)
                    task.add_done_callback(answering.discard)
        await asyncio.gather(*answering)
        await updates({"offset": offset, "timeout": 0})
    await close()


def raw_bot_main(argv: list[str]) -> None:
    api, setup = argv
    with open(setup, "rb") as file:
        found = pickle.load(file)
    asyncio.run(raw_bot(api, found["backend"], found["target"], found["statements"]))


def start_raw_bot(
    url: str, fake: FakeBotAPI, statements: dict[str, list[Statement]], work: Path
) -> subprocess.Popen[bytes]:
    """The raw bot in its own process, like the real bot: not sharing the users' GIL."""
    setup = work / "raw-bot.pickle"
    backend, target = bare_target(url)
    with setup.open("wb") as file:
        pickle.dump({"backend": backend, "target": target, "statements": statements}, file)
    api = f"{fake.base_url}{TOKEN}"
    command = [sys.executable, str(Path(__file__).resolve()), "raw-bot", api, str(setup)]
    return subprocess.Popen(command, cwd=tempfile.gettempdir())


async def stop_process(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        await asyncio.to_thread(process.wait, 30)
    except subprocess.TimeoutExpired:
        process.kill()


class Users:
    def __init__(
        self, fake: FakeBotAPI, replies: Replies, timeout: float, think: tuple[float, float]
    ) -> None:
        self.fake, self.replies, self.timeout, self.think = fake, replies, timeout, think
        self.times: list[float] = []
        self.asked_at: list[float] = []
        """When each of `times` was asked (monotonic), to tell replies during a phase's work
        from those after it."""
        self.work_ended: float | None = None
        """When the phase's work (an ingest) was done, if it sets it."""
        self.by_command: dict[str, list[float]] = {}
        self.missing = 0
        self.trending_times: list[float] = []
        self.trending_missing = 0

    async def ask(self, chat_id: int, text: str) -> float | None:
        future = self.replies.expect(chat_id)
        user = self.fake.user(chat_id)
        started = time.monotonic()
        self.fake.push_update(self.fake.message_update(chat_id, user, text))
        try:
            return await asyncio.wait_for(future, self.timeout) - started
        except TimeoutError:
            self.replies.waiting.pop(chat_id, None)
            return None

    async def user(self, n: int, stop: asyncio.Event, rng: random.Random) -> None:
        """A user arrives at a random point of one think time: started all at once, the
        users' first messages came as one burst, whose queue made every phase's p99."""
        chat_id = USER_BASE + n
        await asyncio.sleep(rng.uniform(0, self.think[1]))
        while not stop.is_set():
            command = user_command(rng)
            asked = time.monotonic()
            took = await self.ask(chat_id, command)
            if took is None:
                self.missing += 1
            else:
                self.times.append(took)
                self.asked_at.append(asked)
                self.by_command.setdefault(command, []).append(took)
            await asyncio.sleep(rng.uniform(*self.think))

    async def trending(self, stop: asyncio.Event, interval: float) -> None:
        """`/trending` again and again, `interval` apart: sent faster, the phase would ask more
        than the ~30 replies a second the bot's limiter passes, and time that queue instead."""
        while not stop.is_set():
            took = await self.ask(TRENDING_CHAT, "/trending")
            if took is None:
                self.trending_missing += 1
            else:
                self.trending_times.append(took)
            await asyncio.sleep(interval)


def figures(times: list[float], missing: int) -> dict[str, Any]:
    from common import percentiles

    if not times:
        return {"replies": 0, "missing": missing}
    return {
        **{k: v for k, v in percentiles(times).items() if k != "samples"},
        "max_ms": round(max(times) * 1000, 3),
        "replies": len(times),
        "missing": missing,
    }


async def wait_until(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(0.05)
    return check()


async def phase(
    fake: FakeBotAPI,
    replies: Replies,
    args: argparse.Namespace,
    name: str,
    work: Callable[[Users], Any] | None = None,
) -> dict[str, Any]:
    """Run the users for at least `--phase-seconds`, and until `work` (if any) returns."""
    users = Users(fake, replies, args.reply_timeout, tuple(args.think))
    stop = asyncio.Event()
    rng = random.Random(f"{args.seed}-{name}")
    tasks = [asyncio.create_task(users.user(n, stop, rng)) for n in range(args.users)]
    started = time.monotonic()
    result: dict[str, Any] = {}
    if work is not None:
        result = await work(users) or {}
    left = args.phase_seconds - (time.monotonic() - started)
    if left > 0:
        await asyncio.sleep(left)
    stop.set()
    await asyncio.gather(*tasks)
    seconds = time.monotonic() - started
    from common import percentiles

    sent = len(users.times) + len(users.trending_times)
    split: dict[str, Any] = {}
    if users.work_ended is not None:
        # the replies asked while the work ran, and those after it (an ingest's aftermath:
        # the recounts and refreshes it sets off)
        during: list[float] = []
        after: list[float] = []
        for took, asked in zip(users.times, users.asked_at, strict=True):
            (during if asked < users.work_ended else after).append(took)
        split = {"while_working": figures(during, 0), "after_work": figures(after, 0)}
    return {
        "phase": name,
        "seconds": round(seconds, 2),
        # PTB's AIORateLimiter lets the bot send 30 messages a second (Telegram's limit): at
        # that rate replies queue for it, whatever the store does
        "sends_per_second": round(sent / seconds, 1),
        **figures(users.times, users.missing),
        **result,
        **split,
        # where a phase's p99 comes from: each command's own p99
        "p99_ms_by_command": {
            command: percentiles(times)["p99_ms"]
            for command, times in sorted(users.by_command.items())
        },
        "_users": users,
    }


async def raw_bot_phase(
    fake: FakeBotAPI,
    replies: Replies,
    args: argparse.Namespace,
    url: str,
    statements: dict[str, list[Statement]],
    work: Path,
) -> dict[str, Any]:
    """The users against the raw bot alone (the real bot is not started yet), each warmed by one
    search, for `--phase-seconds`: the same store, transport, users and think time as steady."""
    polled = fake.polls
    process = start_raw_bot(url, fake, statements, work)
    try:
        started = await wait_until(lambda: fake.polls > polled or process.poll() is not None, 60)
        if not started or process.poll() is not None:
            raise RuntimeError(f"the raw bot did not poll (exit code {process.poll()})")
        warm = Users(fake, replies, args.reply_timeout, tuple(args.think))
        for n in range(args.users):
            await warm.ask(USER_BASE + n, f"/search {QUERIES[n % len(QUERIES)]}")
        result = await phase(fake, replies, args, "raw_bot")
    finally:
        await stop_process(process)
    result.pop("_users")
    result.pop("phase")
    return result


async def admin_ingest(
    fake: FakeBotAPI, replies: Replies, folder: Path, seconds: float
) -> dict[str, Any]:
    """`/ingest FOLDER` as the admin; done when the bot sends its summary (its second reply)."""
    before = replies.messages.get(ADMIN_ID, 0)
    started = time.monotonic()
    fake.push_update(fake.message_update(ADMIN_ID, fake.user(ADMIN_ID), f"/ingest {folder}"))
    done = await wait_until(lambda: replies.messages.get(ADMIN_ID, 0) >= before + 2, seconds)
    return {"ingest_seconds": round(time.monotonic() - started, 2), "ingest_done": done}


async def subscribe_chats(url: str, chats: int) -> None:
    from storage.db import Database
    from storage.push_repository import PushRepository, SubscriptionSpec

    db = Database(url)
    try:
        async with db.session() as session, session.begin():
            repo = PushRepository(session)
            for n in range(chats):
                await repo.add(SubscriptionSpec(chat_id=PUSH_BASE + n, chat_type="private"))
    finally:
        await db.dispose()


async def unsubscribe_chats(url: str) -> None:
    from sqlalchemy import text

    from storage.db import Database

    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            await conn.execute(
                text("DELETE FROM subscriptions WHERE chat_id >= :first"), {"first": PUSH_BASE}
            )
    finally:
        await db.dispose()


def start_bot(url: str, fake: FakeBotAPI, workers: int, work: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "NEWSBOT_DATABASE_URL": url,
        "NEWSBOT_TELEGRAM_TOKEN": TOKEN,
        "NEWSBOT_TELEGRAM_BASE_URL": fake.base_url,
        "NEWSBOT_ADMIN_IDS": str(ADMIN_ID),
        "NEWSBOT_INGEST_WORKERS": str(workers),
        "NEWSBOT_SOURCES": "",
        # the admin's /ingest reads folders made under `work`, which must be a source root
        "NEWSBOT_LOCAL_SOURCE_ROOTS": str(work),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli.main", "run"], env=env, cwd=tempfile.gettempdir()
    )


def copy_sqlite(stored: str, copy: Path) -> Path:
    """A SQLite store copied through its backup API (consistent while another process writes)."""
    import sqlite3

    if not os.path.isfile(stored):  # sqlite3 would make an empty store of it
        raise SystemExit(f"no SQLite store at {stored}")
    source, target = sqlite3.connect(stored), sqlite3.connect(copy)
    with target:
        source.backup(target)
    source.close()
    target.close()
    return copy


async def copy_store(url: str, work: Path) -> tuple[str, Callable[[], Awaitable[None]]]:
    """A copy of the store at `url` and how to drop it (see the module doc)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        copy = copy_sqlite(parsed.database or "", work / "store.db")

        async def nothing() -> None:
            return None

        return parsed.set(database=str(copy)).render_as_string(hide_password=False), nothing

    import asyncpg
    from common import scratch_database

    try:
        return await scratch_database(url, "load_bench", template=parsed.database)
    except asyncpg.ObjectInUseError as exc:
        raise SystemExit(
            f"cannot copy {parsed.database}: {exc}. Stop what is connected to it (the bot),"
            " or pass --in-place to run on the store itself"
        ) from exc


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from fakebotapi import FakeBotAPI

    from storage.db import normalize_url

    url = normalize_url(args.database_url)
    rng = random.Random()  # not `--seed`: the ids of a seeded run are in the store after it
    work = Path(tempfile.mkdtemp(prefix="load-bench-"))
    drop_copy: Callable[[], Awaitable[None]] | None = None
    try:
        if not args.in_place:
            url, drop_copy = await copy_store(url, work)
        if args.posts_from:
            source = Path(args.posts_from)
        else:
            source = synth_posts(max(args.new_posts, 2), work / "synth", args.seed)
        new = fresh_posts(source, args.new_posts, work / "new", rng)
        pushed = fresh_posts(source, PUSHED_POSTS, work / "push", rng)
        await unsubscribe_chats(url)
        statements = await record_statements(url)
        fake = FakeBotAPI(token_required=TOKEN).start()
        replies = Replies(fake, asyncio.get_running_loop())
        bot: subprocess.Popen[bytes] | None = None
        try:
            raw_bot_figures = await raw_bot_phase(fake, replies, args, url, statements, work)
            polled = fake.polls
            bot = start_bot(url, fake, args.workers, work)
            if not await wait_until(lambda: fake.polls > polled, 120.0):
                raise RuntimeError("the bot did not poll within 120 s")
            warm = Users(fake, replies, args.reply_timeout, tuple(args.think))
            for n in range(args.users):  # the first search loads jieba's dictionary
                await warm.ask(USER_BASE + n, f"/search {QUERIES[n % len(QUERIES)]}")
            await warm.ask(TRENDING_CHAT, "/trending")
            await asyncio.sleep(args.warm_up)  # the bot's ingest workers start meanwhile

            raw = figures(await raw_sql_times(url, statements, args.raw_samples, args.seed), 0)
            raw.pop("missing")
            raw["statements_per_command"] = {c: len(s) for c, s in statements.items()}

            results = [await phase(fake, replies, args, "steady")]

            async def ingest(users: Users) -> dict[str, Any]:
                found = await admin_ingest(fake, replies, new, args.work_timeout)
                users.work_ended = time.monotonic()
                return {"posts": args.new_posts, **found}

            if "ingest" in args.phases:
                results.append(await phase(fake, replies, args, "ingest", ingest))

            async def trending(users: Users) -> dict[str, Any]:
                stop = asyncio.Event()
                task = asyncio.create_task(users.trending(stop, args.trending_interval))
                await asyncio.sleep(args.phase_seconds)
                stop.set()
                await task
                mine = figures(users.trending_times, users.trending_missing)
                return {f"trending_{k}": v for k, v in mine.items()}

            if "trending" in args.phases:
                results.append(await phase(fake, replies, args, "trending", trending))

            async def push(users: Users) -> dict[str, Any]:
                await subscribe_chats(url, args.push_chats)
                started = time.monotonic()
                await admin_ingest(fake, replies, pushed, args.work_timeout)

                def reached() -> int:
                    return sum(
                        1 for n in range(args.push_chats) if replies.messages.get(PUSH_BASE + n)
                    )

                await wait_until(lambda: reached() >= args.push_chats, args.work_timeout)
                # then until no message came for PUSH_SETTLE_SECONDS: a chat may get several
                # (one per headline), and a duplicate would come late
                last = (-1, time.monotonic())
                while time.monotonic() - last[1] < PUSH_SETTLE_SECONDS:
                    count = sum(len(texts) for texts in replies.pushed.values())
                    if count != last[0]:
                        last = (count, time.monotonic())
                    await asyncio.sleep(0.1)
                return {
                    "push_chats": args.push_chats,
                    "push_chats_reached": reached(),
                    "push_messages": last[0],
                    "push_duplicates": sum(
                        len(texts) - len(set(texts)) for texts in replies.pushed.values()
                    ),
                    "push_seconds": round(last[1] - started, 2),
                }

            if "push" in args.phases:
                results.append(await phase(fake, replies, args, "push", push))
        finally:
            if bot is not None:
                await stop_process(bot)
            fake.stop()
            await unsubscribe_chats(url)
    finally:
        if drop_copy is not None:
            await drop_copy()
        shutil.rmtree(work, ignore_errors=True)
    steady_p99 = results[0].get("p99_ms") or float("nan")
    phases = {}
    for result in results:
        result.pop("_users")
        name = result.pop("phase")
        if "p99_ms" in result:
            result["p99_ratio_to_steady"] = round(result["p99_ms"] / steady_p99, 2)
        phases[name] = result
    trending_p99 = phases.get("trending", {}).get("trending_p99_ms")
    return {
        "backend": url.split(":", 1)[0].split("+", 1)[0],
        "users": args.users,
        "think_seconds": args.think,
        "new_posts": args.new_posts,
        "reply_timeout_s": args.reply_timeout,
        "phases": phases,
        "raw_sql": raw,
        "raw_bot": raw_bot_figures,
        "targets": {
            "ingest_p99_to_steady": phases.get("ingest", {}).get("p99_ratio_to_steady"),
            "max_reply_ms": max(
                max(p.get("max_ms", 0.0), p.get("trending_max_ms", 0.0)) for p in phases.values()
            ),
            "trending_p99_ms": trending_p99,
            "steady_p99_to_raw_sql_p99": round(steady_p99 / raw["p99_ms"], 2)
            if raw.get("p99_ms")
            else None,
            "steady_p99_to_raw_bot_p99": round(steady_p99 / raw_bot_figures["p99_ms"], 2)
            if raw_bot_figures.get("p99_ms")
            else None,
        },
        "missing_replies": sum(p.get("missing", 0) for p in phases.values())
        + phases.get("trending", {}).get("trending_missing", 0),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="a store already ingested")
    parser.add_argument(
        "--in-place",
        action="store_true",
        help="run on the store itself, not on a copy (its new posts stay in it)",
    )
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--new-posts", type=int, default=3000, help="M posts of the ingest phase")
    parser.add_argument("--posts-from", help="a folder of posts to copy (default: synth_corpus)")
    parser.add_argument("--push-chats", type=int, default=300)
    parser.add_argument("--phase-seconds", type=float, default=20.0)
    parser.add_argument(
        "--think",
        type=float,
        nargs=2,
        default=[0.2, 0.6],
        metavar=("MIN", "MAX"),
        help="seconds a user waits between a reply and the next message; 20 users at 0.2-0.6 s "
        "ask about 50 replies a second, more than the ~30 a second Telegram (and PTB's "
        "AIORateLimiter in the bot) allows, so their times then measure the limiter's queue",
    )
    parser.add_argument(
        "--trending-interval", type=float, default=0.25, help="seconds between `/trending`s"
    )
    parser.add_argument("--reply-timeout", type=float, default=10.0)
    parser.add_argument("--work-timeout", type=float, default=600.0)
    parser.add_argument("--workers", type=int, default=2, help="NEWSBOT_INGEST_WORKERS")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--raw-samples", type=int, default=500, help="commands replayed as bare SQL"
    )
    parser.add_argument("--warm-up", type=float, default=10.0, help="seconds before steady")
    parser.add_argument(
        "--phases",
        nargs="+",
        choices=PHASES,
        default=list(PHASES),
        help="the phases after steady, which always runs first",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    report = asyncio.run(run(parse_args(argv)))
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return report


if __name__ == "__main__":
    if sys.argv[1:2] == ["raw-bot"]:
        raw_bot_main(sys.argv[2:])
    else:
        main()

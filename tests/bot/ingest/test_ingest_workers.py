"""Posts prepared in worker processes come out exactly as in one process, in order, and none
is lost when a worker dies or the source breaks off."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from store_support import good_posts

from bot.ingest import sources as src
from bot.ingest.pipeline import SHARED_BATCH_SIZE, Ingestor, Preparer, ingest, prepare
from bot.ingest.workers import AUTOGROUP, autogroups_enabled
from bot.services.admin import IngestGate
from bot.settings import load_settings
from storage.db import Database
from storage.models import Article
from storage.records import ArticleRecord, Failure
from storage.tokenizer import SEQUENCE


def raw_posts(files: list[Path]) -> list[src.RawPost]:
    posts = [src.read_file(path) for path in files]
    assert all(isinstance(post, src.RawPost) for post in posts)
    return [post for post in posts if isinstance(post, src.RawPost)]


async def stored(db: Database) -> dict[str, tuple[object, ...]]:
    """Every article's fields, story (by its first key) and index entry, by key."""
    async with db.session() as session:
        articles = list(await session.scalars(select(Article).order_by(Article.id)))
        key_of = {a.id: a.key for a in articles}
        index = {
            key_of[id_]: (title, body)
            for id_, title, body in await session.execute(
                text("SELECT rowid, title, body FROM article_fts")
            )
        }
    return {
        a.key: (
            a.title,
            a.summary,
            a.content_hash,
            a.fingerprint,
            key_of[a.story_id or a.id],
            a.category.slug if a.category else None,
            tuple(a.tag_names),
            index[a.key],
        )
        for a in articles
    }


async def test_workers_store_exactly_what_one_process_stores(corpus_dir, tmp_path, monkeypatch):
    results = {}
    for workers in (1, 2):
        monkeypatch.setenv("NEWSBOT_INGEST_WORKERS", str(workers))
        db = Database(f"sqlite+aiosqlite:///{tmp_path / f'workers-{workers}.db'}")
        await db.upgrade()
        report = await ingest(db, [str(corpus_dir)], settings=load_settings(), pool_threshold=0)
        data = report.to_json()
        duplicates = data.pop("duplicates")
        assert data == {
            "added": 165,
            "updated": 1,
            "unchanged": 1,
            "failed": [],
            "not_modified": [],
            "gaps": [],
        }
        # The corpus holds two article ids in two files each (one a `…__old_post.md`).
        assert len(duplicates) == 2
        assert any("__old_post" in d["source"] + d["error"] for d in duplicates)
        results[workers] = await stored(db)
        await db.dispose()
    assert len(results[2]) == 165
    assert results[2] == results[1]


async def test_records_come_back_in_the_order_of_the_posts(corpus_files):
    posts = raw_posts(corpus_files[:100])
    preparer = Preparer(load_settings().tz, None, scheme=SEQUENCE, workers=2, threshold=10)
    try:
        prepared = [item async for item in preparer.run(posts)]
    finally:
        preparer.close()
    expected = [prepare(post, load_settings().tz, None, SEQUENCE) for post in posts]
    assert [getattr(item, "key", item) for item in prepared] == [
        getattr(item, "key", item) for item in expected
    ]
    assert prepared == expected


async def test_a_killed_worker_loses_no_post(corpus_files):
    posts = raw_posts(corpus_files[:150])
    preparer = Preparer(load_settings().tz, None, scheme=SEQUENCE, workers=2, threshold=0)

    def feed() -> Iterator[src.RawPost]:
        for number, post in enumerate(posts):
            if number == 100:
                assert preparer._pool is not None
                for process in list(preparer._pool._processes.values()):  # type: ignore[union-attr]
                    os.kill(process.pid, signal.SIGKILL)
            yield post

    try:
        prepared = [item async for item in preparer.run(feed())]
    finally:
        preparer.close()
    assert [r.key for r in prepared if isinstance(r, ArticleRecord)] == [
        r.key for p in posts if isinstance(r := prepare(p, load_settings().tz), ArticleRecord)
    ]
    assert not [r for r in prepared if isinstance(r, Failure)]
    assert preparer._broken, "the pool broke and this process took over"


async def test_what_a_source_gave_before_breaking_off_is_still_prepared(corpus_files):
    posts = raw_posts(corpus_files[:70])

    def broken() -> Iterator[src.RawPost]:
        yield from posts
        raise OSError("the disk went away")

    preparer = Preparer(load_settings().tz, None, scheme=SEQUENCE, workers=2, threshold=0)
    prepared: list[ArticleRecord | Failure] = []
    try:
        with pytest.raises(OSError, match="disk went away"):
            async for item in preparer.run(broken()):
                prepared.append(item)
    finally:
        preparer.close()
    assert len(prepared) == 70


async def test_the_bots_workers_run_below_its_priority(monkeypatch):
    monkeypatch.delenv("NEWSBOT_INGEST_NICE", raising=False)
    settings = load_settings()
    assert settings.ingest.nice > 0
    gate = IngestGate()
    gate.start_pool(settings)
    try:
        assert gate.pool is not None
        priority = gate.pool.submit(partial(os.getpriority, os.PRIO_PROCESS, 0)).result()
    finally:
        gate.close()
    assert priority == min(19, os.getpriority(os.PRIO_PROCESS, 0) + settings.ingest.nice)


def autogroup_name(text: str) -> str:
    """`/autogroup-N`, or "" for the default group (of sessions never left since boot, such as a
    container's first process), whose file reads empty."""
    return text.split()[0] if text.strip() else ""


@pytest.mark.skipif(not autogroups_enabled(), reason="the kernel does not group by session")
def test_the_bots_workers_rank_below_its_session_for_the_scheduler(monkeypatch):
    """With autogroups a nice value ranks a process only within its session's group: the
    workers' own session has the lowered priority, against the bot and the database alike."""
    monkeypatch.delenv("NEWSBOT_INGEST_NICE", raising=False)
    settings = load_settings()
    gate = IngestGate()
    gate.start_pool(settings)
    try:
        assert gate.pool is not None
        session = gate.pool.submit(partial(os.getsid, 0)).result()
        group = gate.pool.submit(partial(Path.read_text, Path(AUTOGROUP))).result()
    finally:
        gate.close()
    assert session != os.getsid(0)
    assert group.split()[-2:] == ["nice", str(settings.ingest.nice)]
    assert autogroup_name(group) != autogroup_name(Path(AUTOGROUP).read_text())


async def test_the_bot_reads_posts_off_its_loop_and_writes_small_batches(
    sqlite_database, tmp_path, monkeypatch
):
    good_posts(tmp_path, SHARED_BATCH_SIZE + 20)
    readers: set[int] = set()
    batches: list[int] = []
    read_file, write = src.read_file, Ingestor._write

    def reading(*args: Any, **kwargs: Any) -> src.RawPost | Failure:
        readers.add(threading.get_ident())
        return read_file(*args, **kwargs)

    async def writing(self: Ingestor, batch: list[ArticleRecord]) -> Any:
        batches.append(len(batch))
        return await write(self, batch)

    monkeypatch.setattr(src, "read_file", reading)
    monkeypatch.setattr(Ingestor, "_write", writing)
    gate = IngestGate()
    try:
        summary = await gate.run(sqlite_database, [str(tmp_path)], load_settings())
    finally:
        gate.close()
    assert summary is not None and summary.added == SHARED_BATCH_SIZE + 20
    assert readers and threading.get_ident() not in readers
    assert batches == [SHARED_BATCH_SIZE, 20]


def test_closing_the_bots_pool_stops_a_worker_in_the_middle_of_a_task(monkeypatch):
    """A starved nice-19 warm-up held `newsbot run` past SIGTERM for minutes."""
    monkeypatch.setenv("NEWSBOT_INGEST_WORKERS", "1")
    gate = IngestGate()
    gate.start_pool(load_settings())
    assert gate.pool is not None
    busy = gate.pool.submit(time.sleep, 120)
    workers = list((gate.pool._processes or {}).values())
    started = time.monotonic()
    gate.close()
    assert time.monotonic() - started < 10
    assert workers and not any(worker.is_alive() for worker in workers)
    assert busy.done()

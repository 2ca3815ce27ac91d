"""Ingest runs one at a time and wakes the push job only when something new was stored."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from functools import partial

import pytest
from store_support import good_posts, records_of, store, text_record, write_good_posts

from bot.ingest import pipeline
from bot.ingest.pipeline import Ingestor, IngestReport, Preparer
from bot.ingest.sources import RawPost, read_file
from bot.ingest.workers import worker_pool
from bot.services.admin import IngestGate
from bot.settings import load_settings
from storage.derive import scored_text
from storage.records import body_text
from storage.repository import ArticleRepository
from storage.tokenizer import BAG


async def test_new_articles_wake_the_push_job_and_a_rerun_does_not(sqlite_database, tmp_path):
    woken: list[str] = []
    gate = IngestGate(on_new_articles=lambda: woken.append("push"))
    write_good_posts(tmp_path, 2)
    settings = load_settings()

    first = await gate.run(sqlite_database, [str(tmp_path)], settings)
    assert first is not None and first.added == 2
    assert woken == ["push"]

    again = await gate.run(sqlite_database, [str(tmp_path)], settings)
    assert again is not None and (again.added, again.unchanged) == (0, 2)
    assert woken == ["push"]


async def test_the_bots_ingest_rests_after_each_batch_only_while_users_read(
    sqlite_database, tmp_path, monkeypatch
):
    """An ingest beside the replies writes at most about half the time while users read, and
    at full speed when nobody does."""
    from storage.views import latest_views

    rests: list[float] = []
    real_sleep = pipeline.asyncio.sleep

    async def sleep(seconds: float) -> None:
        rests.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(pipeline.asyncio, "sleep", sleep)
    good_posts(tmp_path, 6)
    records = records_of(tmp_path)

    async def write(first: int, *, reading: bool) -> None:
        if reading:
            await sqlite_database.read(partial(latest_views, limit=1))
        ingestor = Ingestor(sqlite_database, IngestReport(), 2, yield_to_reads=True)
        for record in records[first : first + 3]:
            await ingestor.add(record)
        await ingestor.flush()

    monkeypatch.setattr(pipeline, "READ_QUIET_SECONDS", 3600.0)
    await write(0, reading=True)
    assert len(rests) == 2 and all(rest > 0 for rest in rests)  # a batch of 2, then of 1

    rests.clear()
    monkeypatch.setattr(pipeline, "READ_QUIET_SECONDS", 0.0)
    await write(3, reading=True)
    assert rests == []


@asynccontextmanager
async def a_read_held_open(db) -> AsyncIterator[None]:
    """A read in flight (a `read_session` left open) until the block ends."""
    release, reading = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with db.read_session():
            reading.set()
            await release.wait()

    reader = asyncio.create_task(hold())
    await reading.wait()
    try:
        yield
    finally:
        release.set()
        await reader


async def test_the_bots_ingest_writes_between_reads_not_across_them(
    sqlite_database, tmp_path, monkeypatch
):
    """A batch waits for the reads in flight to end, and at most `SETTLE_WAIT_SECONDS`."""
    monkeypatch.setattr(pipeline, "READ_QUIET_SECONDS", 0.0)  # no rest: only the wait
    good_posts(tmp_path, 2)
    records = records_of(tmp_path)
    writes_with_reads: list[int] = []
    real_write = Ingestor._write

    async def write(self: Ingestor, batch):
        writes_with_reads.append(sqlite_database._reads_in_flight)
        return await real_write(self, batch)

    monkeypatch.setattr(Ingestor, "_write", write)
    ingestor = Ingestor(sqlite_database, IngestReport(), 1, yield_to_reads=True)
    async with a_read_held_open(sqlite_database):
        adding = asyncio.create_task(ingestor.add(records[0]))
        await asyncio.sleep(0.1)
        assert not adding.done() and writes_with_reads == []
    await asyncio.wait_for(adding, 5)
    assert writes_with_reads == [0] and ingestor.report.added == 1

    monkeypatch.setattr(pipeline, "SETTLE_WAIT_SECONDS", 0.05)
    async with a_read_held_open(sqlite_database):  # a read that does not end
        await asyncio.wait_for(ingestor.add(records[1]), 5)
        assert writes_with_reads == [0, 1] and ingestor.report.added == 2

    await ingestor.add(records[0])  # nobody reads: no wait
    assert writes_with_reads == [0, 1, 0]


async def test_a_run_of_the_cli_does_not_wait_for_reads(sqlite_database, tmp_path):
    good_posts(tmp_path, 1)
    [record] = records_of(tmp_path)
    ingestor = Ingestor(sqlite_database, IngestReport(), 1)
    async with a_read_held_open(sqlite_database):
        await asyncio.wait_for(ingestor.add(record), 5)
        assert ingestor.report.added == 1


async def test_the_bots_posts_carry_the_text_search_scores_and_the_clis_do_not(tmp_path):
    """The bot's workers tokenize what search scores, so its store keeps it for the searches
    beside the ingest; a run of the CLI spends nothing on it."""
    good_posts(tmp_path, 3)
    posts = [read_file(path) for path in sorted(tmp_path.glob("*.md"))]
    assert all(isinstance(post, RawPost) for post in posts)
    tz = load_settings().tz
    pool = worker_pool(1)
    try:
        shared = Preparer(tz, None, scheme=BAG, workers=1, pool=pool)
        prepared = [item async for item in shared.run(posts)]
    finally:
        pool.shutdown(wait=True)
    own = Preparer(tz, None, scheme=BAG, workers=1)
    alone = [item async for item in own.run(posts)]
    own.close()
    assert [r.derived.scored for r in alone] == [None, None, None]
    for record in prepared:
        body = body_text(record.paragraphs, record.digest)
        assert record.derived.scored == scored_text(
            record.title, body, BAG, record.derived.index_title, record.derived.index_body
        )
        assert record.title.split("：")[1][:2] in record.derived.scored[0].replace(" ", "")


@pytest.mark.postgres
async def test_the_bots_ingest_merges_the_search_index_more_often_than_the_cli(
    postgres_database, tmp_path, monkeypatch
):
    """Every search beside the bot's ingest reads PostgreSQL's whole pending list, so the bot
    merges every `SHARED_CLEAN_EVERY` posts; the CLI every `CLEAN_EVERY`, and at the end."""
    merges: list[int] = []
    real_merge = Ingestor._merge

    async def merge(self: Ingestor) -> None:
        merges.append(self.report.added)
        await real_merge(self)

    monkeypatch.setattr(Ingestor, "_merge", merge)
    monkeypatch.setattr(pipeline, "SHARED_CLEAN_EVERY", 2)
    monkeypatch.setattr(pipeline, "CLEAN_EVERY", 4)
    good_posts(tmp_path, 5)
    records = records_of(tmp_path)
    await store(postgres_database, text_record("seed", "种子"))  # not a first load
    for yield_to_reads, expected in ((True, [2, 4, 5]), (False, [4, 5])):
        async with postgres_database.session() as session, session.begin():
            await ArticleRepository(session).merge_search_index()
        merges.clear()
        ingestor = Ingestor(postgres_database, IngestReport(), 1, yield_to_reads=yield_to_reads)
        for r in records:
            await ingestor.add(r if yield_to_reads else replace(r, key=r.key + "x"))
        await ingestor.finish()
        assert merges == expected, yield_to_reads

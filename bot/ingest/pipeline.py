"""The ingest task: read sources, parse, summarize and store, reporting every failure."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import operator
import os
import pickle
import socket
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from functools import partial
from typing import Any

import httpx

from bot.ingest import guard
from bot.ingest import sources as src
from bot.ingest.git_source import read_git
from bot.ingest.parser import ParseError, parse_post
from bot.ingest.timerule import TimeRule, parse_time_rule
from bot.ingest.workers import worker_pool
from bot.settings import Settings
from bot.summarize import SUMMARIZER_VERSION, summarize
from bot.summarize.idf import idf_from_documents
from storage.db import Database, driver_error
from storage.derive import with_derived
from storage.models import IngestRun
from storage.pg_bulk import CLEAN_EVERY, unmerged_documents
from storage.records import ArticleRecord, Failure, content_hash
from storage.repository import ArticleRepository, UpsertOutcome, lead_texts
from storage.runs import mark_interrupted
from storage.search import backend_of_dialect
from storage.sources import RunRecord, SourceRepository
from storage.tokenizer import IndexScheme

log = logging.getLogger(__name__)

# A run's own batches (the CLI): every batch rewrites pages spread over whole indexes (the
# trending counts are keyed by term first), so fewer, larger ones write far less; at 20k posts
# on SQLite 1000 wrote 1.4 GB through the WAL where 200 wrote 3.2 GB.
BATCH_SIZE = 1000
# The bot's batches: each one's write holds the event loop (SQL building, story placement,
# term counts) for about 0.3 ms a post, which its replies wait out. At 100k posts on SQLite,
# 20 users' replies during an ingest had a p99 of 36-57 ms in batches of 20, 46-75 in 50.
SHARED_BATCH_SIZE = 20
# While users are reading (a read began within READ_QUIET_SECONDS), the bot's ingest rests
# after each batch for YIELD_SHARE times as long as the batch took to write: it then holds the
# store's CPU at most half the time. PostgreSQL's server spends 4-7 ms on a post (index
# entries, merges), and on two cores replies to 20 users waited out whole batches.
YIELD_SHARE = 1.0
READ_QUIET_SECONDS = 1.0
# And it starts each batch (and merge) once no read is in flight (`Database.reads_settled`),
# waiting at most this long, so that users reading all the time cannot stop it.
SETTLE_WAIT_SECONDS = 0.5
# The bot's ingest merges what it wrote into PostgreSQL's search index every this many posts,
# not every `storage.pg_bulk.CLEAN_EVERY` as a run of the CLI does, since every search beside
# it reads the whole pending list (the index's answer to a word no article holds took
# 2.6-3.8 ms with up to 100 documents pending, 5.8-14 ms with 150-300, at 142k posts).
SHARED_CLEAN_EVERY = 100
# A worker process costs about a second to start (imports, jieba's dictionary), so a source is
# prepared in this process until it has shown this many posts.
POOL_THRESHOLD = 256
CHUNK_SIZE = 32
# Posts a run's own pool prepares ahead of the writer: writing a batch holds `Preparer.run`,
# which submits no chunk meanwhile, and the workers must not run dry before the write ends.
AHEAD_POSTS = 2 * BATCH_SIZE
# Smaller chunks for the bot's pool: the loop gets each prepared post sooner.
SHARED_CHUNK_SIZE = 8
SUMMARY_CHARS = 120
IDF_SAMPLE = 1000


@dataclass(frozen=True, slots=True)
class SourceTally:
    """What one configured source gave in a run (the per-source metrics)."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: list[Failure] = field(default_factory=list)
    not_modified: list[str] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)
    """Sources whose read may have missed items (see `FetchResult.gap`)."""
    duplicates: list[Failure] = field(default_factory=list)
    notes: list[Failure] = field(default_factory=list)
    """Posts stored with a remark, such as the encoding they were decoded from."""
    changed_ids: list[int] = field(default_factory=list)
    seconds: float = 0.0
    by_source: dict[str, SourceTally] = field(default_factory=dict)

    def tally(self) -> SourceTally:
        return SourceTally(self.added, self.updated, self.unchanged, len(self.failed))

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_json(self) -> dict[str, Any]:
        """The counts and failures; `duplicates` and `notes` only when there are some."""
        data: dict[str, Any] = {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "failed": [{"source": f.source, "error": f.error} for f in self.failed],
            "not_modified": list(self.not_modified),
            "gaps": list(self.gaps),
        }
        if self.duplicates:
            data["duplicates"] = [{"source": f.source, "error": f.error} for f in self.duplicates]
        if self.notes:
            data["notes"] = [{"source": f.source, "note": f.error} for f in self.notes]
        return data


def to_record(post: ArticleRecord, idf: Mapping[str, float] | None = None) -> ArticleRecord:
    """The parsed post with its summary, its paragraphs as plain tuples: a record crosses from
    a worker process, and pickling a `Paragraph` named tuple costs about ten times a tuple."""
    summary = summarize(
        post.title,
        [text for text, _ in post.paragraphs],
        max_chars=SUMMARY_CHARS,
        digest=post.digest,
        idf=idf,
    )
    paragraphs = [(text, heading) for text, heading in post.paragraphs]
    return dataclasses.replace(
        post, paragraphs=paragraphs, summary=summary, summary_version=SUMMARIZER_VERSION
    )


async def store_idf(
    db: Database, pool: ProcessPoolExecutor | None = None
) -> dict[str, float] | None:
    """Keyword weights for the summarizer from the newest stored articles (None while few),
    segmented in `pool` (else a thread), not on the event loop."""
    sample = await db.read(partial(lead_texts, limit=IDF_SAMPLE))
    return await asyncio.get_running_loop().run_in_executor(pool, idf_from_documents, sample)


def prepare(
    raw: src.RawPost,
    tz: tzinfo,
    idf: Mapping[str, float] | None = None,
    scheme: IndexScheme | None = None,
    scored: bool = False,
) -> ArticleRecord | Failure:
    """Parse, summarize and (for an index `scheme`) tokenize one post, with the text search
    scores it on when `scored`; any error becomes a reported failure, never a crash."""
    try:
        parsed = parse_post(raw.text, raw.filename, tz=raw.tz or tz, key_hint=raw.key_hint)
        record = to_record(parsed, idf)
        return record if scheme is None else with_derived(record, scheme, scored=scored)
    except ParseError as exc:
        return Failure(raw.origin, str(exc))
    except Exception as exc:  # a parser or summarizer bug must not sink the batch
        log.exception("unexpected error on %s", raw.origin)
        return Failure(raw.origin, f"internal error: {type(exc).__name__} (see the log)")


_PrepareArgs = tuple[tzinfo, Mapping[str, float] | None, IndexScheme | None, bool]
_worker_context: tuple[bytes, _PrepareArgs] | None = None


def _prepare_chunk(context: bytes, raws: list[src.RawPost]) -> list[ArticleRecord | Failure]:
    """Runs in a worker: `context` is the pickled arguments of `prepare` (tz, idf, scheme,
    scored) of a run, unpickled once per run and worker, since a pool outlives runs and each
    run has its own idf."""
    global _worker_context
    if _worker_context is None or _worker_context[0] != context:
        _worker_context = (context, pickle.loads(context))
    return [prepare(raw, *_worker_context[1]) for raw in raws]


def _take(
    posts: Iterator[src.RawPost], size: int
) -> tuple[list[src.RawPost], ValueError | OSError | None]:
    """The next `size` posts, and the error a source broke off with (after those before it)."""
    taken: list[src.RawPost] = []
    try:
        for raw in posts:
            taken.append(raw)
            if len(taken) >= size:
                break
    except (ValueError, OSError) as exc:
        return taken, exc
    return taken, None


class Preparer:
    """Turns raw posts into records, in order, in worker processes while this process writes.

    Parsing, summarizing and tokenizing are most of an ingest's CPU time and need no database,
    so they spread over processes; the store has one writer anyway. The index tokens follow
    `scheme`, the store's (None leaves them to the store).

    Given a `pool` (the bot's, started once), every post goes to it and the event loop stays
    free. Without one (the CLI), a source is prepared in this process until it has shown
    `threshold` posts, since starting workers costs about a second; then a pool is started
    for this run. The bot's posts also carry the text search scores them on
    (`storage.derive.scored_text`), which the store keeps for the searches beside the ingest.
    """

    def __init__(
        self,
        tz: tzinfo,
        idf: Mapping[str, float] | None,
        *,
        scheme: IndexScheme | None,
        workers: int,
        threshold: int = POOL_THRESHOLD,
        pool: ProcessPoolExecutor | None = None,
    ) -> None:
        self.tz, self.idf, self.scheme = tz, idf, scheme
        self.workers, self.threshold = workers, threshold
        self._shared = pool is not None
        self._pool: ProcessPoolExecutor | None = pool
        self._broken = False
        self.scored = self._shared
        self._context = pickle.dumps((tz, idf, scheme, self.scored))

    async def run(self, raws: Iterable[src.RawPost]) -> AsyncIterator[ArticleRecord | Failure]:
        in_flight: deque[tuple[list[src.RawPost], asyncio.Future[list[ArticleRecord | Failure]]]]
        in_flight = deque()
        chunk: list[src.RawPost] = []
        size = CHUNK_SIZE if not self._shared else SHARED_CHUNK_SIZE
        ahead = 4 * self.workers if self._shared else max(4 * self.workers, AHEAD_POSTS // size)
        posts, number, broken_off = iter(raws), 0, None
        while broken_off is None:
            # Read in a thread: a folder's listing took 240 ms of the event loop at 3,000 files
            taken, broken_off = await asyncio.to_thread(_take, posts, size)
            if not taken:
                break
            for raw in taken:
                number += 1
                if self._pool is None and (self.workers < 2 or number <= self.threshold):
                    yield prepare(raw, self.tz, self.idf, self.scheme, self.scored)
                    continue
                chunk.append(raw)
                if len(chunk) >= size:
                    in_flight.append((chunk, self._submit(chunk)))
                    chunk = []
            while len(in_flight) > ahead:
                for prepared in await self._result(*in_flight.popleft()):
                    yield prepared
        if chunk:
            in_flight.append((chunk, self._submit(chunk)))
        while in_flight:
            for prepared in await self._result(*in_flight.popleft()):
                yield prepared
        if broken_off is not None:
            raise broken_off  # what the source gave before it broke off is stored

    def _submit(self, chunk: list[src.RawPost]) -> asyncio.Future[list[ArticleRecord | Failure]]:
        loop = asyncio.get_running_loop()
        if self._broken:
            return loop.run_in_executor(None, self._prepare_here, chunk)
        if self._pool is None:
            self._pool = worker_pool(self.workers)
        try:
            return loop.run_in_executor(self._pool, _prepare_chunk, self._context, chunk)
        except (BrokenExecutor, RuntimeError):
            # broken, or shut down under us (the bot stopping): prepare in a thread
            self._broken = True
            return loop.run_in_executor(None, self._prepare_here, chunk)

    def _prepare_here(self, chunk: list[src.RawPost]) -> list[ArticleRecord | Failure]:
        return [prepare(raw, self.tz, self.idf, self.scheme, self.scored) for raw in chunk]

    async def _result(
        self,
        chunk: list[src.RawPost],
        future: asyncio.Future[list[ArticleRecord | Failure]],
    ) -> list[ArticleRecord | Failure]:
        try:
            return await future
        except BrokenExecutor:
            # A worker died (killed, out of memory): nothing of its chunk is lost, a thread of
            # this process prepares it and the rest of the source.
            log.warning("an ingest worker died; preparing the rest in the main process")
            self._broken = True
            return await asyncio.to_thread(self._prepare_here, chunk)

    def close(self) -> None:
        if self._pool is not None and not self._shared:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool = None


def _keep_stored(
    record: ArticleRecord, stored: tuple[datetime, tuple[str, ...], str | None] | None
) -> ArticleRecord:
    """A record rebuilt from a feed or page, with the stored time (a renderer may shift it)
    and, when it shows no tags (a page layout may omit them), the stored tags."""
    if stored is None:
        return record
    moment, tags, source = stored
    kept = record
    if moment != record.published_at:
        kept = dataclasses.replace(kept, published_at=moment.astimezone(record.published_at.tzinfo))
    if not record.tags and tags:
        kept = dataclasses.replace(kept, tags=tags, source=record.source or source)
    return kept if kept is record else dataclasses.replace(kept, content_hash=content_hash(kept))


class Ingestor:
    """Writes batches of records, each in one transaction, and keeps the tallies.

    A batch that fails to write for any reason is written again one record at a time, each in
    its own transaction: only the records that fail alone are reported (with their reason), the
    rest are stored. Two records with one article id in one source are reported, naming both.

    A first load (a full batch into a store with nothing indexed) leaves the search index to be
    built once at `finish`, where the store builds it faster from all the rows than row by row
    (PostgreSQL's GIN indexes); `finish` also builds one a crashed load left out.
    """

    def __init__(
        self,
        db: Database,
        report: IngestReport,
        batch_size: int = BATCH_SIZE,
        *,
        yield_to_reads: bool = False,
    ) -> None:
        self.db = db
        self.yield_to_reads = yield_to_reads
        """Rest after each batch while users read (see `YIELD_SHARE`): the bot's ingests."""
        self.clean_every = SHARED_CLEAN_EVERY if yield_to_reads else CLEAN_EVERY
        self.report = report
        self.batch_size = batch_size
        self._first_flush = True
        self.pending: list[ArticleRecord] = []
        self.keep_times: set[int] = set()
        self.origins: dict[str, str] = {}
        """Where each article id of this run came from, for the duplicate report."""

    async def add(
        self, record: ArticleRecord, origin: str | None = None, *, keep_time: bool = False
    ) -> None:
        """`keep_time`: the record was rebuilt from a feed or page, whose time must not move
        the time already stored for its key (a renderer may shift it, as Jekyll does)."""
        origin = origin or record.file or record.key
        first = self.origins.setdefault(record.key, origin)
        if first != origin:
            self.report.duplicates.append(
                Failure(
                    origin,
                    f"article id {record.key} is also in {first}; the one dated later is kept",
                )
            )
        if keep_time:
            self.keep_times.add(len(self.pending))
        self.pending.append(record)
        if len(self.pending) >= self.batch_size:
            await self.flush()

    async def flush(self) -> None:
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        keep, self.keep_times = self.keep_times, set()
        if self._first_flush:
            self._first_flush = False
            if len(batch) >= self.batch_size:
                async with self.db.session() as session, session.begin():
                    await ArticleRepository(session).defer_search_index()
        if keep:
            async with self.db.session() as session:
                stored = await ArticleRepository(session).published_and_tags(
                    [batch[i].key for i in keep]
                )
            for index in keep:
                batch[index] = _keep_stored(batch[index], stored.get(batch[index].key))
        if self.yield_to_reads:
            await self.db.reads_settled(SETTLE_WAIT_SECONDS)
        started = time.monotonic()
        try:
            outcomes = await self._write(batch)
        except Exception as exc:
            log.warning(
                "a batch of %d posts failed to write (%s); writing them one by one",
                len(batch),
                _reason(exc),
            )
            outcomes = []
            for record in batch:
                try:
                    outcomes.extend(await self._write([record]))
                except Exception as one:
                    where = self.origins.get(record.key) or record.file or record.key
                    self.report.failed.append(Failure(where, f"not stored: {_reason(one)}"))
        for outcome in outcomes:  # a status is the name of the report's count
            setattr(self.report, outcome.status, getattr(self.report, outcome.status) + 1)
            if outcome.status != "unchanged":
                self.report.changed_ids.append(outcome.article_id)
        if unmerged_documents() >= self.clean_every:
            await self._merge()
        if self.yield_to_reads and time.monotonic() - self.db.last_read < READ_QUIET_SECONDS:
            await asyncio.sleep(YIELD_SHARE * (time.monotonic() - started))

    async def _merge(self) -> None:
        """Merge the documents written since the last time into the search index proper
        (`storage.pg_bulk.clean_pending_lists`: a merge of many costs less a document)."""
        if self.yield_to_reads:
            await self.db.reads_settled(SETTLE_WAIT_SECONDS)
        async with self.db.session() as session, session.begin():
            await ArticleRepository(session).merge_search_index()

    async def finish(self) -> None:
        """Merge what is left into the search index, build it if a first load deferred it
        (after the last `flush`), and the tables' statistics after a large load."""
        if unmerged_documents():  # also what a batch that rolled back left counted
            await self._merge()
        await self.db.build_search_index()
        async with self.db.session() as session, session.begin():
            await ArticleRepository(session).analyze_if_grown(self.report.added)

    async def _write(self, batch: list[ArticleRecord]) -> list[UpsertOutcome]:
        async with self.db.session() as session, session.begin():
            return await ArticleRepository(session).upsert_many(batch)


def _reason(exc: BaseException) -> str:
    """One line about a failed write, without the statement or its parameters."""
    exc = driver_error(exc)
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first[:300]}" if first else type(exc).__name__


def _local_posts(
    source: str, kind: str, *, progress: bool, report: IngestReport
) -> Iterator[src.RawPost]:
    items: Iterable[src.RawPost | Failure] = (
        src.read_folder(source, progress=progress) if kind == "folder" else [src.read_file(source)]
    )
    for item in items:
        if isinstance(item, Failure):
            report.failed.append(item)
        else:
            yield item


async def load_source(db: Database, source: str) -> tuple[src.SourceCursor | None, str | None]:
    """The cursor and the time-zone setting on the row of `source` (None, None: no row)."""
    async with db.session() as session:
        row = await SourceRepository(session).by_location(source)
        if row is None:
            return None, None
        return src.SourceCursor(row.etag, row.last_modified, row.commit, row.newest_item_at), row.tz


async def _read_git(
    source: str,
    settings: Settings,
    cursor: src.SourceCursor | None,
    rule: TimeRule,
    report: IngestReport,
) -> tuple[src.FetchResult, Iterator[src.RawPost]]:
    """The read of the repository (its new commit) and, read one file at a time as they are
    prepared, the posts changed since the commit on the cursor."""
    if not source.startswith("git+file://"):
        # git connects by itself, outside the guarded HTTP client: its host is checked here
        # (and git follows no redirects).
        await guard.check_remote(source, allow_private=settings.allow_private_sources)
    read = await asyncio.to_thread(
        partial(read_git, eager=False),
        source,
        settings.ingest.git_dir,
        cursor.commit if cursor else None,
    )
    log.info(
        "%s: %s read at %s, %d files (%d deleted)",
        source,
        "every post" if read.full else "changed posts",
        read.commit,
        read.files_read,
        read.deleted,
    )
    fetched = src.FetchResult(
        source=source,
        cursor=dataclasses.replace(cursor or src.SourceCursor(), commit=read.commit),
    )

    def posts() -> Iterator[src.RawPost]:
        for item in read.iter_files():
            if isinstance(item, Failure):
                report.failed.append(item)
            else:
                yield dataclasses.replace(item, tz=rule.zone)

    return fetched, posts()


def _flags(
    raws: Iterable[src.RawPost], posted: deque[tuple[bool, str]], report: IngestReport
) -> Iterator[src.RawPost]:
    """Notes for each post, in order, whether it was rebuilt from a feed or page and where it
    came from (the preparer yields exactly one result per post, in order), and which posts
    were not UTF-8."""
    for raw in raws:
        if raw.encoding != "utf-8":
            report.notes.append(Failure(raw.origin, f"not UTF-8: decoded as {raw.encoding}"))
        posted.append((raw.rendered, raw.origin))
        yield raw


def backoff_delay(interval: timedelta, failures: int) -> timedelta:
    """The wait before the next run: the interval, doubled for each failure in a row, at most
    a day (or the interval when that is longer)."""
    delay: timedelta = interval * (2 ** min(failures, 16))
    return min(delay, max(interval, timedelta(days=1)))


@dataclass
class _SourceRun:
    """One source's read within an ingest, as it is saved on the source's row."""

    source: str
    kind: str | None = None
    failed_before: int = 0
    items: int = 0
    fetched: src.FetchResult | None = None

    def count(self, raws: Iterable[src.RawPost]) -> Iterator[src.RawPost]:
        for raw in raws:
            self.items += 1
            yield raw


async def _record_run(
    db: Database, settings: Settings, run: _SourceRun, report: IngestReport, crash: str | None
) -> None:
    """Save how the read went, and the cursor of a read whose posts are all stored."""
    fetched = run.fetched
    new_failures = report.failed[run.failed_before :]
    if crash is not None or (fetched is not None and fetched.failures and not fetched.posts):
        status = "failed"
    elif fetched is not None and fetched.not_modified:
        status = "not_modified"
    else:
        status = "partial" if new_failures else "ok"
    error = crash or (new_failures[0].error if new_failures else None)
    if len(new_failures) > 1:
        error = f"{error} (+{len(new_failures) - 1} more)"
    now = datetime.now(UTC)
    record = RunRecord(
        status=status,
        error=error,
        items_seen=None if status in ("failed", "not_modified") else run.items,
        cursor=None
        if crash is not None or fetched is None or fetched.cursor is None
        else dataclasses.astuple(fetched.cursor),
        gap=fetched is not None and fetched.gap,
        at=now,
        name=fetched.name if fetched is not None else None,
    )
    async with db.session() as session, session.begin():
        repo = SourceRepository(session)
        if run.kind is None and await repo.by_location(run.source) is None:
            return  # not a source at all (a typo): no row for it
        row = await repo.record_run(run.kind or "unknown", run.source, record)
        interval = (
            timedelta(seconds=row.interval_seconds)
            if row.interval_seconds
            else settings.ingest.interval
        )
        row.next_run_at = now + backoff_delay(interval, row.consecutive_failures)


async def ingest(
    db: Database,
    sources: Sequence[str],
    *,
    settings: Settings,
    progress: bool = False,
    client: httpx.AsyncClient | None = None,
    pool_threshold: int = POOL_THRESHOLD,
    pool: ProcessPoolExecutor | None = None,
) -> IngestReport:
    """Ingest every source; good posts are stored even when others fail. `pool` is a worker
    pool to prepare every post in (the bot's); without one, a run starts its own when a
    source is large. Cancelled (SIGTERM), it stops after its current batch and records the
    run as interrupted."""
    started = time.perf_counter()
    report = IngestReport()
    async with db.session() as session, session.begin():
        await mark_interrupted(session)
        run = IngestRun(sources=list(sources), pid=os.getpid(), host=socket.gethostname())
        session.add(run)
    ingestor = (
        Ingestor(db, report)
        if pool is None
        else Ingestor(db, report, SHARED_BATCH_SIZE, yield_to_reads=True)
    )
    preparer = Preparer(
        settings.tz,
        await store_idf(db, pool),
        scheme=backend_of_dialect(db.dialect).scheme,
        workers=settings.ingest.workers,
        threshold=pool_threshold,
        pool=pool,
    )
    own_client = client is None
    if client is None:  # in a thread: loading the CA certificates took 80 ms
        make = partial(src.make_client, allow_private=settings.allow_private_sources)
        client = await asyncio.to_thread(make)
    status = "interrupted"
    try:
        for source in sources:
            before = report.tally()
            reading = _SourceRun(source, failed_before=len(report.failed))
            # One id twice within a source is a duplicate; across sources it is the same
            # article read through two routes (a folder and its site's feed), and not reported.
            ingestor.origins.clear()
            crash: str | None = None
            try:
                reading.kind = src.classify_source(source)
                raws: Iterable[src.RawPost]
                cursor, tz_setting = await load_source(db, source)
                rule = parse_time_rule(tz_setting, settings.tz)
                if reading.kind in ("folder", "file"):
                    raws = _local_posts(source, reading.kind, progress=progress, report=report)
                    raws = (dataclasses.replace(raw, tz=rule.zone) for raw in raws)
                elif reading.kind == "git":
                    reading.fetched, raws = await _read_git(source, settings, cursor, rule, report)
                else:
                    reading.fetched = await src.fetch_url(
                        source, client=client, cursor=cursor, rule=rule
                    )
                    report.failed.extend(reading.fetched.failures)
                    if reading.fetched.not_modified:
                        report.not_modified.append(source)
                    if reading.fetched.gap:
                        report.gaps.append(source)
                        log.warning("%s: items may have been missed between reads", source)
                    raws = reading.fetched.posts
                posted: deque[tuple[bool, str]] = deque()
                async for prepared in preparer.run(_flags(reading.count(raws), posted, report)):
                    keep_time, origin = posted.popleft()
                    if isinstance(prepared, Failure):
                        report.failed.append(prepared)
                    else:
                        await ingestor.add(prepared, origin, keep_time=keep_time)
                # The cursor is saved only after every post of this read is stored, so a crash
                # in between makes the next read start from the old cursor instead of losing
                # posts behind a 304 or a commit.
                await ingestor.flush()
            except (ValueError, OSError, httpx.HTTPError) as exc:
                crash = str(exc) or type(exc).__name__
                report.failed.append(Failure(source, crash))
            await _record_run(db, settings, reading, report, crash)
            # What a failed read left pending is written too, so each source's tally is its own.
            await ingestor.flush()
            after = report.tally()
            gained = map(operator.sub, dataclasses.astuple(after), dataclasses.astuple(before))
            report.by_source[source] = SourceTally(*gained)
        await ingestor.flush()
        status = "finished"
    except asyncio.CancelledError:
        # what was prepared before the stop is stored, in one bounded batch
        await asyncio.shield(ingestor.flush())
        raise
    finally:
        preparer.close()
        try:
            await asyncio.shield(ingestor.finish())
        except Exception:
            log.exception("the search index was not built; the next ingest builds it")
        if own_client:
            await client.aclose()
        report.seconds = time.perf_counter() - started
        # shielded: a cancelled run still records how it ended
        await asyncio.shield(_finish_run(db, run.id, report, status))
    return report


async def _finish_run(db: Database, run_id: int, report: IngestReport, status: str) -> None:
    async with db.session() as session, session.begin():
        saved = await session.get(IngestRun, run_id)
        if saved is not None:
            saved.finished_at = datetime.now(UTC)
            saved.status = status
            saved.added, saved.updated = report.added, report.updated
            saved.unchanged = report.unchanged
            saved.failed = report.to_json()["failed"]


async def resummarize(db: Database, *, everything: bool = False, batch_size: int = 500) -> int:
    """Re-summarize articles stored by an older summarizer (or all of them); returns how many."""
    idf = await store_idf(db)
    if everything:
        async with db.session() as session, session.begin():
            await ArticleRepository(session).mark_summaries_outdated()
    done = 0
    while True:
        async with db.session() as session, session.begin():
            repo = ArticleRepository(session)
            batch = await repo.outdated_summaries(SUMMARIZER_VERSION, limit=batch_size)
            for article in batch:
                article.summary = summarize(
                    article.title,
                    [text for text, _ in article.paragraphs],
                    max_chars=SUMMARY_CHARS,
                    digest=article.digest,
                    idf=idf,
                )
                article.summary_version = SUMMARIZER_VERSION
        if not batch:
            return done
        done += len(batch)

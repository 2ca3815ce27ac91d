"""The ingest task: read sources, parse, summarize and store, reporting every failure."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import pickle
import socket
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

import httpx

from bot.ingest import sources as src
from bot.ingest.parser import ParsedPost, ParseError, parse_post
from bot.ingest.workers import worker_pool
from bot.settings import Settings
from bot.summarize import SUMMARIZER_VERSION, summarize
from bot.summarize.idf import idf_from_documents
from storage.db import Database
from storage.derive import with_derived
from storage.models import IngestRun, SourceState
from storage.records import ArticleRecord
from storage.repository import ArticleRepository
from storage.runs import mark_interrupted
from storage.search import backend_of_dialect
from storage.tokenizer import IndexScheme

log = logging.getLogger(__name__)

BATCH_SIZE = 200
# A worker process costs about a second to start (imports, jieba's dictionary), so a source is
# prepared in this process until it has shown this many posts.
POOL_THRESHOLD = 256
CHUNK_SIZE = 32
# Smaller chunks for the bot's pool: the loop gets each prepared post sooner.
SHARED_CHUNK_SIZE = 8
SUMMARY_CHARS = 120
IDF_SAMPLE = 1000


@dataclass(frozen=True, slots=True)
class Failure:
    source: str
    error: str


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: list[Failure] = field(default_factory=list)
    not_modified: list[str] = field(default_factory=list)
    changed_ids: list[int] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_json(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "failed": [{"source": f.source, "error": f.error} for f in self.failed],
        }


def content_hash(post: ParsedPost) -> str:
    """Hash what a reader sees, so a post re-rendered in another format is not a change."""
    payload = json.dumps(
        [
            post.title,
            post.published_at.isoformat(),
            post.category,
            list(post.tags),
            post.source,
            post.digest,
            [[p.text, p.heading] for p in post.paragraphs],
            post.share_url,
        ],
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def to_record(post: ParsedPost, idf: Mapping[str, float] | None = None) -> ArticleRecord:
    summary = summarize(
        post.title,
        [p.text for p in post.paragraphs],
        max_chars=SUMMARY_CHARS,
        digest=post.digest,
        idf=idf,
    )
    return ArticleRecord(
        key=post.key,
        title=post.title,
        published_at=post.published_at,
        category=post.category,
        tags=post.tags,
        source=post.source,
        digest=post.digest,
        paragraphs=[(p.text, p.heading) for p in post.paragraphs],
        summary=summary,
        summary_version=SUMMARIZER_VERSION,
        share_url=post.share_url,
        file=post.file,
        content_hash=content_hash(post),
    )


async def store_idf(
    db: Database, pool: ProcessPoolExecutor | None = None
) -> dict[str, float] | None:
    """Keyword weights for the summarizer from the newest stored articles (None while few),
    segmented in `pool` (else a thread), not on the event loop."""
    async with db.session() as session:
        sample = await ArticleRepository(session).lead_texts(IDF_SAMPLE)
    return await asyncio.get_running_loop().run_in_executor(pool, idf_from_documents, sample)


def prepare(
    raw: src.RawPost,
    tz: tzinfo,
    idf: Mapping[str, float] | None = None,
    scheme: IndexScheme | None = None,
) -> ArticleRecord | Failure:
    """Parse, summarize and (for an index `scheme`) tokenize one post; any error becomes a
    reported failure, never a crash."""
    try:
        record = to_record(parse_post(raw.text, raw.filename, tz=tz), idf)
        return record if scheme is None else with_derived(record, scheme)
    except ParseError as exc:
        return Failure(raw.origin, str(exc))
    except Exception as exc:  # a parser or summarizer bug must not sink the batch
        log.exception("unexpected error on %s", raw.origin)
        return Failure(raw.origin, f"internal error: {type(exc).__name__}: {exc}")


_worker_context: tuple[bytes, tuple[tzinfo, Mapping[str, float] | None, IndexScheme | None]] | None
_worker_context = None


def _prepare_chunk(context: bytes, raws: list[src.RawPost]) -> list[ArticleRecord | Failure]:
    """Runs in a worker: `context` is the pickled (tz, idf, scheme) of a run, unpickled once
    per run and worker, since a pool outlives runs and each run has its own idf."""
    global _worker_context
    if _worker_context is None or _worker_context[0] != context:
        _worker_context = (context, pickle.loads(context))
    return [prepare(raw, *_worker_context[1]) for raw in raws]


class Preparer:
    """Turns raw posts into records, in order, in worker processes while this process writes.

    Parsing, summarizing and tokenizing are most of an ingest's CPU time and need no database,
    so they spread over processes; the store has one writer anyway. The index tokens follow
    `scheme`, the store's (None leaves them to the store).

    Given a `pool` (the bot's, started once), every post goes to it and the event loop stays
    free. Without one (the CLI), a source is prepared in this process until it has shown
    `threshold` posts, since starting workers costs about a second; then a pool is started
    for this run.
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
        self._context = pickle.dumps((tz, idf, scheme))

    async def run(self, raws: Iterable[src.RawPost]) -> AsyncIterator[ArticleRecord | Failure]:
        in_flight: deque[tuple[list[src.RawPost], asyncio.Future[list[ArticleRecord | Failure]]]]
        in_flight = deque()
        chunk: list[src.RawPost] = []
        broken_off: ValueError | OSError | None = None
        size = CHUNK_SIZE if not self._shared else SHARED_CHUNK_SIZE
        try:
            for number, raw in enumerate(raws, start=1):
                if self._pool is None and (self.workers < 2 or number <= self.threshold):
                    yield prepare(raw, self.tz, self.idf, self.scheme)
                    continue
                chunk.append(raw)
                if len(chunk) >= size:
                    in_flight.append((chunk, self._submit(chunk)))
                    chunk = []
                while len(in_flight) > 4 * self.workers:
                    for prepared in await self._result(*in_flight.popleft()):
                        yield prepared
        except (ValueError, OSError) as exc:
            broken_off = exc  # what the source gave before it broke off is still stored
        if chunk:
            in_flight.append((chunk, self._submit(chunk)))
        while in_flight:
            for prepared in await self._result(*in_flight.popleft()):
                yield prepared
        if broken_off is not None:
            raise broken_off

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
        return [prepare(raw, self.tz, self.idf, self.scheme) for raw in chunk]

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

    @property
    def broken(self) -> bool:
        return self._broken

    def close(self) -> None:
        if self._pool is not None and not self._shared:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool = None


class Ingestor:
    """Writes batches of records, each in one transaction, and keeps the tallies."""

    def __init__(self, db: Database, report: IngestReport) -> None:
        self.db = db
        self.report = report
        self.pending: list[ArticleRecord] = []

    async def add(self, record: ArticleRecord) -> None:
        self.pending.append(record)
        if len(self.pending) >= BATCH_SIZE:
            await self.flush()

    async def flush(self) -> None:
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        async with self.db.session() as session, session.begin():
            outcomes = await ArticleRepository(session).upsert_many(batch)
        for outcome in outcomes:
            if outcome.status == "added":
                self.report.added += 1
            elif outcome.status == "updated":
                self.report.updated += 1
            else:
                self.report.unchanged += 1
            if outcome.status != "unchanged":
                self.report.changed_ids.append(outcome.article_id)


def _local_posts(
    source: str, kind: str, *, progress: bool, report: IngestReport
) -> Iterator[src.RawPost]:
    items: Iterable[src.RawPost | src.SourceFailure] = (
        src.read_folder(source, progress=progress) if kind == "folder" else [src.read_file(source)]
    )
    for item in items:
        if isinstance(item, src.SourceFailure):
            report.failed.append(Failure(item.origin, item.error))
        else:
            yield item


async def _fetch(
    source: str, *, db: Database, client: httpx.AsyncClient, report: IngestReport
) -> tuple[list[src.RawPost], src.Validators | None]:
    """The posts of a URL, fetched conditionally on what it answered last time."""
    async with db.session() as session:
        state = await session.get(SourceState, source)
        validators = (
            src.Validators(etag=state.etag, last_modified=state.last_modified) if state else None
        )
    result = await src.fetch_url(source, client=client, validators=validators)
    report.failed.extend(Failure(f.origin, f.error) for f in result.failures)
    if result.not_modified:
        report.not_modified.append(source)
    return result.posts, result.validators


async def _remember_validators(db: Database, source: str, validators: src.Validators) -> None:
    async with db.session() as session, session.begin():
        state = await session.get(SourceState, source) or SourceState(source=source)
        state.etag = validators.etag
        state.last_modified = validators.last_modified
        state.fetched_at = datetime.now(UTC)
        session.add(state)


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
    ingestor = Ingestor(db, report)
    preparer = Preparer(
        settings.tz,
        await store_idf(db, pool),
        scheme=backend_of_dialect(db.dialect).scheme,
        workers=settings.ingest.workers,
        threshold=pool_threshold,
        pool=pool,
    )
    own_client = client is None
    client = client or src.make_client()
    status = "interrupted"
    try:
        for source in sources:
            try:
                kind = src.classify_source(source)
                validators = None
                raws: Iterable[src.RawPost]
                if kind in ("folder", "file"):
                    raws = _local_posts(source, kind, progress=progress, report=report)
                else:
                    raws, validators = await _fetch(source, db=db, client=client, report=report)
                async for prepared in preparer.run(raws):
                    if isinstance(prepared, Failure):
                        report.failed.append(prepared)
                    else:
                        await ingestor.add(prepared)
                if validators is not None:
                    # Remembered only after every post of this response is stored, so a crash in
                    # between makes the next fetch unconditional instead of losing posts behind
                    # a 304.
                    await ingestor.flush()
                    await _remember_validators(db, source, validators)
            except (ValueError, OSError, httpx.HTTPError) as exc:
                report.failed.append(Failure(source, str(exc) or type(exc).__name__))
        await ingestor.flush()
        status = "finished"
    except asyncio.CancelledError:
        # what was prepared before the stop is stored, in one bounded batch
        await asyncio.shield(ingestor.flush())
        raise
    finally:
        preparer.close()
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

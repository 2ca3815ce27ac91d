"""The ingest task: read sources, parse, summarize and store, reporting every failure."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

import httpx

from bot.ingest import sources as src
from bot.ingest.parser import ParsedPost, ParseError, parse_post
from bot.settings import Settings
from bot.summarize import SUMMARIZER_VERSION, summarize
from bot.summarize.idf import idf_from_documents
from storage.db import Database
from storage.models import IngestRun, SourceState
from storage.records import ArticleRecord
from storage.repository import ArticleRepository

log = logging.getLogger(__name__)

BATCH_SIZE = 200
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


async def store_idf(db: Database) -> dict[str, float] | None:
    """Keyword weights for the summarizer from the newest stored articles (None while few)."""
    async with db.session() as session:
        sample = await ArticleRepository(session).lead_texts(IDF_SAMPLE)
    return idf_from_documents(sample)


def prepare(
    raw: src.RawPost, tz: tzinfo, idf: Mapping[str, float] | None = None
) -> ArticleRecord | Failure:
    """Parse and summarize one post; any error becomes a reported failure, never a crash."""
    try:
        return to_record(parse_post(raw.text, raw.filename, tz=tz), idf)
    except ParseError as exc:
        return Failure(raw.origin, str(exc))
    except Exception as exc:  # a parser or summarizer bug must not sink the batch
        log.exception("unexpected error on %s", raw.origin)
        return Failure(raw.origin, f"internal error: {type(exc).__name__}: {exc}")


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
                self.report.changed_ids.append(outcome.article.id)


async def _raw_posts(
    source: str,
    *,
    db: Database,
    client: httpx.AsyncClient,
    progress: bool,
    report: IngestReport,
    ingestor: Ingestor,
) -> AsyncIterator[src.RawPost]:
    kind = src.classify_source(source)
    if kind in ("folder", "file"):
        items: Iterable[src.RawPost | src.SourceFailure] = (
            src.read_folder(source, progress=progress)
            if kind == "folder"
            else [src.read_file(source)]
        )
        for item in items:
            if isinstance(item, src.SourceFailure):
                report.failed.append(Failure(item.origin, item.error))
            else:
                yield item
        return
    async with db.session() as session:
        state = await session.get(SourceState, source)
        validators = (
            src.Validators(etag=state.etag, last_modified=state.last_modified) if state else None
        )
    result = await src.fetch_url(source, client=client, validators=validators)
    report.failed.extend(Failure(f.origin, f.error) for f in result.failures)
    if result.not_modified:
        report.not_modified.append(source)
    for post in result.posts:
        yield post
    if result.validators is not None:
        # Remembered only after every post of this response is stored, so a crash in between
        # makes the next fetch unconditional instead of losing posts behind a 304.
        await ingestor.flush()
        async with db.session() as session, session.begin():
            state = await session.get(SourceState, source) or SourceState(source=source)
            state.etag = result.validators.etag
            state.last_modified = result.validators.last_modified
            state.fetched_at = datetime.now(UTC)
            session.add(state)


async def ingest(
    db: Database,
    sources: Sequence[str],
    *,
    settings: Settings,
    progress: bool = False,
    client: httpx.AsyncClient | None = None,
) -> IngestReport:
    """Ingest every source; good posts are stored even when others fail."""
    started = time.perf_counter()
    report = IngestReport()
    run = IngestRun(sources=list(sources))
    async with db.session() as session, session.begin():
        session.add(run)
    ingestor = Ingestor(db, report)
    idf = await store_idf(db)
    own_client = client is None
    client = client or src.make_client()
    try:
        for source in sources:
            try:
                async for raw in _raw_posts(
                    source,
                    db=db,
                    client=client,
                    progress=progress,
                    report=report,
                    ingestor=ingestor,
                ):
                    prepared = prepare(raw, settings.tz, idf)
                    if isinstance(prepared, Failure):
                        report.failed.append(prepared)
                        continue
                    await ingestor.add(prepared)
            except (ValueError, OSError, httpx.HTTPError) as exc:
                report.failed.append(Failure(source, str(exc) or type(exc).__name__))
        await ingestor.flush()
    finally:
        if own_client:
            await client.aclose()
        report.seconds = time.perf_counter() - started
        async with db.session() as session, session.begin():
            saved = await session.get(IngestRun, run.id)
            if saved is not None:
                saved.finished_at = datetime.now(UTC)
                saved.added, saved.updated = report.added, report.updated
                saved.unchanged = report.unchanged
                saved.failed = report.to_json()["failed"]
    return report


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

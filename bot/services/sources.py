"""Followed sources as admins manage them: list with health, add after a trial read, remove,
pick what `/ingest` reads, and run the sources whose turn has come."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from bot.ingest import guard
from bot.ingest import sources as src
from bot.ingest.preview import trial_read
from bot.ingest.timerule import parse_time_rule
from bot.services.admin import IngestGate
from bot.services.replies import (
    IngestSummary,
    Notice,
    SourceHealth,
    SourceList,
    SourcePreview,
    Viewer,
    copied,
)
from bot.settings import Settings, parse_duration
from storage.db import Database
from storage.models import Source
from storage.sources import SourceRepository

SEEDED_BY = "NEWSBOT_SOURCES"


def kind_of(location: str) -> str:
    """What a location is, leniently: a missing folder is still a source to report on."""
    try:
        return src.classify_source(location)
    except ValueError:
        scheme, sep, _ = location.partition("://")
        return scheme.lower() if sep else "path"


async def seed(db: Database, settings: Settings) -> None:
    """Schedule every NEWSBOT_SOURCES entry; idempotent, so every start may call it."""
    if not settings.sources:
        return
    async with db.session() as session, session.begin():
        await SourceRepository(session).seed(
            [(kind_of(s), s) for s in settings.sources], added_by=SEEDED_BY
        )


def health(row: Source, settings: Settings) -> SourceHealth:
    interval = row.interval_seconds or int(settings.ingest.interval.total_seconds())
    return copied(SourceHealth, row, scheduled=row.enabled, interval_seconds=interval)


async def list_sources(db: Database, settings: Settings) -> SourceList | Notice:
    async with db.session() as session:
        rows = await SourceRepository(session).list_all(scheduled_only=True)
        listed = tuple(health(row, settings) for row in rows)
    return SourceList(listed) if listed else Notice("sources_none")


def refusal(error: guard.SourceRefused) -> Notice:
    return Notice(f"source_refused_{error.reason}", dict(error.values))


async def vet(location: str, settings: Settings) -> str:
    """The stored form of a source named by an admin, or SourceRefused."""
    roots = guard.allowed_roots(settings.local_source_roots, settings.sources)
    return await guard.vet_source(
        location, roots=roots, allow_private=settings.allow_private_sources
    )


@dataclass(frozen=True, slots=True)
class AddRequest:
    location: str
    tz: str | None = None
    interval_seconds: int | None = None


def parse_add_args(args: Sequence[str]) -> AddRequest | Notice:
    """`/addsource URL_OR_PATH [tz=…] [every=30m]`."""
    location = tz = None
    interval = None
    for word in args:
        key, sep, value = word.partition("=")
        if sep and key.lower() == "tz":
            tz = value
        elif sep and key.lower() in ("every", "interval"):
            try:
                interval = max(60, int(parse_duration(value).total_seconds()))
            except ValueError:
                return Notice("addsource_bad_interval", {"value": value})
        elif location is None:
            location = word
        else:
            return Notice("addsource_usage")
    if location is None:
        return Notice("addsource_usage")
    return AddRequest(location, tz, interval)


async def add_source(
    db: Database,
    settings: Settings,
    args: Sequence[str],
    viewer: Viewer,
    *,
    client: httpx.AsyncClient | None = None,
) -> SourcePreview | Notice:
    """Vet the source, read it once, and save it only when the read found posts."""
    request = parse_add_args(args)
    if isinstance(request, Notice):
        return request
    location, tz = request.location, request.tz
    try:
        rule = parse_time_rule(tz, settings.tz)
    except ValueError:
        return Notice("addsource_bad_tz", {"tz": tz})
    try:
        location = await vet(location, settings)
    except guard.SourceRefused as exc:
        return refusal(exc)
    async with db.session() as session, session.begin():
        known = await SourceRepository(session).by_location(location)
        if known is not None and known.enabled:
            if tz is None and request.interval_seconds is None:
                return Notice("source_exists", {"id": known.id})
            # Settings of a followed source change in place (a shorter interval after a gap).
            known.tz = tz if tz is not None else known.tz
            known.interval_seconds = request.interval_seconds or known.interval_seconds
            known.next_run_at = None
            return Notice("source_updated", {"id": known.id})
    own_client = client is None
    client = client or src.make_client(allow_private=settings.allow_private_sources)
    try:
        trial = await trial_read(
            location, rule=rule, git_dir=settings.ingest.git_dir, client=client
        )
        if trial.feed_url:  # a home page: follow the feed it links to
            location = await vet(trial.feed_url, settings)
    except guard.SourceRefused as exc:
        return refusal(exc)
    except (ValueError, OSError) as exc:
        return Notice("source_unreadable", {"error": str(exc)})
    finally:
        if own_client:
            await client.aclose()
    failures = tuple(trial.failures)
    saved_id = None
    if trial.usable:
        async with db.session() as session, session.begin():
            row = await SourceRepository(session).add(
                trial.kind,
                location,
                added_by=added_by(viewer),
                tz=tz,
                name=trial.name,
                interval_seconds=request.interval_seconds,
            )
            saved_id = row.id
    return SourcePreview(location, trial.kind, trial.found, trial.titles, failures, saved_id, tz)


def added_by(viewer: Viewer) -> str:
    """`telegram:ID` for a chat user, else where it came from (`cli`, `console`)."""
    return f"telegram:{viewer.user_id}" if viewer.user_id else viewer.display_name or "cli"


def _source_id(args: Sequence[str]) -> int | None:
    if len(args) != 1 or not args[0].isdigit() or len(args[0]) > 9:
        return None
    return int(args[0])


async def remove_source(db: Database, args: Sequence[str]) -> Notice:
    source_id = _source_id(args)
    if source_id is None:
        return Notice("removesource_usage")
    async with db.session() as session, session.begin():
        row = await SourceRepository(session).remove(source_id)
        if row is None:
            return Notice("source_not_found", {"id": source_id})
        return Notice("source_removed", {"id": source_id, "location": row.location})


async def ingest_targets(
    db: Database, settings: Settings, args: Sequence[str]
) -> tuple[str, ...] | Notice:
    """What `/ingest [ID|URL]` reads: every scheduled source, one by id, or a vetted URL/path."""
    named = [a for a in args if a.strip()]
    if not named:
        async with db.session() as session:
            rows = await SourceRepository(session).list_all(scheduled_only=True)
            scheduled = tuple(row.location for row in rows)
        return scheduled or tuple(settings.sources)
    if len(named) > 1:
        return Notice("ingest_usage")
    source_id = _source_id(named)
    if source_id is not None:
        async with db.session() as session:
            row = await SourceRepository(session).get(source_id)
            location = row.location if row is not None else None
        if location is None:
            return Notice("source_not_found", {"id": source_id})
        return (location,)
    try:
        return (await vet(named[0], settings),)
    except guard.SourceRefused as exc:
        return refusal(exc)


async def run_due(db: Database, settings: Settings, gate: IngestGate) -> IngestSummary | None:
    """Ingest the scheduled sources whose next run has come; None when nothing ran (none due,
    or another ingest holds the gate)."""
    async with db.session() as session:
        due = tuple(row.location for row in await SourceRepository(session).due(datetime.now(UTC)))
    if not due:
        return None
    return await gate.run(db, due, settings)

"""The followed sources: rows with their schedule, health and read cursor."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Source, utcnow


@dataclass(frozen=True, slots=True)
class RunRecord:
    """How one read of a source went, as the pipeline saves it after its posts are stored.

    `cursor` is (etag, last_modified, commit, newest_item_at); None keeps the stored one.
    """

    status: str
    error: str | None
    items_seen: int | None
    cursor: tuple[str | None, str | None, str | None, datetime | None] | None
    gap: bool
    at: datetime
    name: str | None = None


class SourceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, source_id: int) -> Source | None:
        return await self.session.get(Source, source_id)

    async def by_location(self, location: str) -> Source | None:
        return await self.session.scalar(select(Source).where(Source.location == location))

    async def list_all(self, *, scheduled_only: bool = False) -> Sequence[Source]:
        query = select(Source).order_by(Source.id)
        if scheduled_only:
            query = query.where(Source.enabled.is_(True))
        return (await self.session.scalars(query)).all()

    async def add(
        self,
        kind: str,
        location: str,
        *,
        added_by: str | None,
        name: str | None = None,
        tz: str | None = None,
        interval_seconds: int | None = None,
    ) -> Source:
        """Schedule a source; one already known (say, ingested by hand) is enabled again."""
        row = await self.ensure(kind, location, added_by=added_by)
        row.enabled = True
        row.kind = kind
        row.name = name or row.name
        row.tz = tz if tz is not None else row.tz
        row.interval_seconds = interval_seconds or row.interval_seconds
        row.next_run_at = None
        if row.added_by in (None, "ingest", "migration"):
            row.added_by, row.added_at = added_by, utcnow()
        await self.session.flush()
        return row

    async def ensure(self, kind: str, location: str, *, added_by: str | None) -> Source:
        """The row of `location`, made unscheduled when it is new (it holds the cursor)."""
        row = await self.by_location(location)
        if row is not None:
            return row
        try:
            async with self.session.begin_nested():
                row = Source(
                    kind=kind,
                    location=location,
                    added_by=added_by,
                    enabled=False,
                    items_seen=0,
                    gap_count=0,
                    consecutive_failures=0,
                )
                self.session.add(row)
        except IntegrityError:  # another writer added it in between
            found = await self.by_location(location)
            assert found is not None
            return found
        return row

    async def seed(self, entries: Iterable[tuple[str, str]], *, added_by: str) -> list[Source]:
        """Schedule each (kind, location) not scheduled yet; running it twice changes nothing."""
        rows = []
        for kind, location in entries:
            row = await self.by_location(location)
            if row is None or not row.enabled:
                row = await self.add(kind, location, added_by=added_by)
            rows.append(row)
        return rows

    async def remove(self, source_id: int) -> Source | None:
        row = await self.get(source_id)
        if row is not None:
            await self.session.delete(row)
            await self.session.flush()
        return row

    async def due(self, now: datetime) -> Sequence[Source]:
        """Scheduled sources whose next run has come (or was never planned)."""
        query = (
            select(Source)
            .where(Source.enabled.is_(True))
            .where(or_(Source.next_run_at.is_(None), Source.next_run_at <= now))
            .order_by(Source.next_run_at.is_not(None), Source.next_run_at, Source.id)
        )
        return (await self.session.scalars(query)).all()

    async def record_run(self, kind: str, location: str, run: RunRecord) -> Source:
        row = await self.ensure(kind, location, added_by="ingest")
        row.last_run_at = run.at
        row.last_status = run.status
        row.last_error = run.error
        if run.items_seen is not None:
            row.items_seen = run.items_seen
        if run.cursor is not None:
            row.etag, row.last_modified, row.commit, row.newest_item_at = run.cursor
        if run.gap:
            row.gap_count += 1
            row.gap_warned_at = run.at
        row.consecutive_failures = row.consecutive_failures + 1 if run.status == "failed" else 0
        if run.name and not row.name:
            row.name = run.name
        await self.session.flush()
        return row

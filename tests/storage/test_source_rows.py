"""The `sources` table: seeding, adding, removing, run records and the 0007 migration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage.sources import RunRecord, SourceRepository

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def run(status: str = "ok", **changes: object) -> RunRecord:
    fields: dict[str, object] = {
        "status": status,
        "error": None,
        "items_seen": 3,
        "cursor": ('"e1"', "Mon, 30 Nov 2026 00:00:00 GMT", None, NOW),
        "gap": False,
        "at": NOW,
    }
    fields.update(changes)
    return RunRecord(**fields)  # type: ignore[arg-type]


async def test_seeding_twice_keeps_one_row_per_location(database):
    entries = [("url", "https://a.example/feed.xml"), ("folder", "/srv/posts")]
    async with database.session() as session, session.begin():
        await SourceRepository(session).seed(entries, added_by="NEWSBOT_SOURCES")
    async with database.session() as session, session.begin():
        await SourceRepository(session).seed(entries, added_by="NEWSBOT_SOURCES")
    async with database.session() as session:
        rows = await SourceRepository(session).list_all()
    assert [(r.kind, r.location, r.enabled, r.added_by) for r in rows] == [
        ("url", "https://a.example/feed.xml", True, "NEWSBOT_SOURCES"),
        ("folder", "/srv/posts", True, "NEWSBOT_SOURCES"),
    ]


async def test_a_run_saves_its_cursor_status_and_gap(database):
    location = "https://a.example/feed.xml"
    async with database.session() as session, session.begin():
        repo = SourceRepository(session)
        await repo.record_run("url", location, run(gap=True))
        row = await repo.by_location(location)
        assert row is not None and not row.enabled  # ingested by hand: kept, not scheduled
    async with database.session() as session, session.begin():
        row = await SourceRepository(session).record_run(
            "url", location, run("failed", error="HTTP 500", items_seen=None, cursor=None)
        )
        assert row.consecutive_failures == 1
    async with database.session() as session:
        row = await SourceRepository(session).by_location(location)
    assert row is not None
    assert (row.etag, row.newest_item_at, row.items_seen) == ('"e1"', NOW, 3)
    assert (row.last_status, row.last_error, row.gap_count, row.gap_warned_at) == (
        "failed",
        "HTTP 500",
        1,
        NOW,
    )


async def test_due_sources_and_removal(database):
    async with database.session() as session, session.begin():
        repo = SourceRepository(session)
        first = await repo.add("url", "https://a.example/feed.xml", added_by="telegram:1")
        second = await repo.add("folder", "/srv/posts", added_by="cli", interval_seconds=60)
        await repo.ensure("url", "https://hand.example/", added_by="ingest")
        second.next_run_at = NOW + timedelta(minutes=5)
        first_id, second_id = first.id, second.id
    async with database.session() as session, session.begin():
        repo = SourceRepository(session)
        assert [r.id for r in await repo.due(NOW)] == [first_id]
        assert [r.id for r in await repo.due(NOW + timedelta(minutes=6))] == [first_id, second_id]
        assert (await repo.remove(first_id)) is not None
        assert await repo.remove(first_id) is None
    async with database.session() as session:
        rows = await SourceRepository(session).list_all(scheduled_only=True)
    assert [r.location for r in rows] == ["/srv/posts"]


async def test_migration_0007_moves_validators_onto_source_rows(tmp_path):
    from alembic import command
    from sqlalchemy import text

    from storage.db import Database, _alembic_config

    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    await db.upgrade()
    async with db.engine.begin() as conn:
        await conn.run_sync(lambda sync: command.downgrade(_alembic_config(sync), "0006"))
        await conn.execute(
            text(
                "INSERT INTO source_states (source, etag, last_modified, fetched_at) VALUES"
                " ('https://a.example/feed.xml', '\"e\"', NULL, '2026-11-30 01:02:03')"
            )
        )
    await db.upgrade()
    async with db.session() as session:
        [row] = await SourceRepository(session).list_all()
    assert (row.location, row.etag, row.enabled) == ("https://a.example/feed.xml", '"e"', False)
    assert row.last_run_at == datetime(2026, 11, 30, 1, 2, 3, tzinfo=UTC)
    async with db.engine.begin() as conn:  # and back: the validators return to source_states
        await conn.run_sync(lambda sync: command.downgrade(_alembic_config(sync), "0006"))
        assert (await conn.execute(text("SELECT source, etag FROM source_states"))).all() == [
            ("https://a.example/feed.xml", '"e"')
        ]
    await db.dispose()

"""Ingest runs one at a time and wakes the push job only when something new was stored."""

from __future__ import annotations

from store_support import write_good_posts

from bot.services.admin import IngestGate
from bot.settings import load_settings


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

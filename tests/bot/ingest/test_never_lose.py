"""Issue 12, on both backends: one bad post never loses the others, every bad input gets a
reason, never a traceback. One test per numbered item of the issue that involves a store."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import re
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import _drop_schema, _fresh_postgres
from sqlalchemy import func, select
from store_support import GOOD_POST, good_posts, records_of

from bot.ingest.parser import parse_post
from bot.ingest.pipeline import Ingestor, IngestReport, ingest, to_record
from bot.settings import load_settings
from storage.dates import BadDate
from storage.db import Database, current_revision, head_revision
from storage.models import Article
from storage.pg_bulk import unmerged_documents
from storage.repository import ArticleRepository

SHANGHAI = load_settings().tz


def dated(date: str, title: str = "日期") -> str:
    return f'---\ntitle: "{title}"\ndate: {date}\ncategories: x\n---\n<p>正文一句。</p>\n'


async def stored_count(db: Database) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count(Article.id))) or 0)


# 1 and 2: dates out of range fail alone, with a reason; the other posts are stored.
async def test_out_of_range_dates_fail_alone_and_the_batch_is_stored(
    database: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good_posts(tmp_path, 22)
    future = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%d %H:%M:%S +0000")
    bad = {
        "ancient.md": "0001-01-01 00:00:00 +0800",
        "far-future.md": "9999-12-31 23:59:59 -1200",
        "year-9999-east.md": "9999-12-31 23:59:59 +0800",
        "before-1970.md": "1969-12-31 23:59:59 +0000",
        "three-days-ahead.md": future,
    }
    for name, date in bad.items():
        (tmp_path / name).write_text(dated(date), encoding="utf-8")
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S +0000")
    (tmp_path / "tomorrow.md").write_text(dated(tomorrow, "明天"), encoding="utf-8")

    report = await ingest(database, [str(tmp_path)], settings=load_settings())

    failed = {Path(f.source).name: f.error for f in report.failed}
    assert set(failed) == set(bad)
    assert "outside the representable range" in failed["ancient.md"]
    assert "before 1970-01-01" in failed["before-1970.md"]
    assert "in the future" in failed["three-days-ahead.md"]
    assert report.added == 23
    assert await stored_count(database) == 23
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_the_store_refuses_a_bad_date_and_a_failing_batch_is_written_one_by_one(
    database: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The store's own guard, and the write fallback: whatever makes a batch fail (here a
    record that slipped past the parser), only that record fails, with its reason."""
    keys = good_posts(tmp_path, 5)
    records = records_of(tmp_path)
    forged = replace(records[2], published_at=datetime(9999, 12, 31, 23, 0, tzinfo=UTC))
    async with database.session() as session, session.begin():
        with pytest.raises(BadDate):
            await ArticleRepository(session).upsert_many([forged])

    report = IngestReport()
    ingestor = Ingestor(database, report)
    for record in [*records[:2], forged, *records[3:]]:
        await ingestor.add(record)
    with caplog.at_level(logging.WARNING):
        await ingestor.flush()

    assert report.added == 4
    [failure] = report.failed
    assert forged.key in failure.error and "in the future" in failure.error
    assert await stored_count(database) == 4
    async with database.session() as session:
        assert await ArticleRepository(session).get(keys[2]) is None
    assert database.engine.sync_engine.hide_parameters
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "one by one" in logged and "好消息" not in logged


async def test_a_database_error_in_a_batch_loses_only_that_post(database: Database) -> None:
    """A record the database itself refuses (a title over any sane size on PostgreSQL, a NUL;
    here a duplicate key forged inside one statement) is retried alone."""
    post = parse_post(GOOD_POST.format(title="甲", day=1), "2023-05-01-NW1.md", tz=SHANGHAI)
    good = to_record(post)
    other = replace(good, key="NW20230501999999999", title="乙", content_hash="other")
    report = IngestReport()
    ingestor = Ingestor(database, report)
    await ingestor.add(good)
    await ingestor.add(other)
    broken = replace(other, key="NW20230501888888888", tags=("\x00bad",))
    await ingestor.add(broken)
    await ingestor.flush()
    stored = await stored_count(database)
    if database.dialect == "postgresql":
        # PostgreSQL text cannot hold NUL: the batch failed, then each post was tried alone.
        assert (report.added, stored, len(report.failed)) == (2, 2, 1)
        assert "not stored" in report.failed[0].error
    else:
        assert (report.added, stored, report.failed) == (3, 3, [])


# 3: two processes doing the first ingest into a new SQLite file at once both succeed.
def _ingest_at_once(barrier: Any, folder: str, url: str, log_path: str) -> None:
    """A child process: `newsbot ingest` as soon as its sibling is ready too."""
    os.environ["NEWSBOT_INGEST_WORKERS"] = "1"
    from bot.cli.main import main

    with open(log_path, "w", encoding="utf-8") as log_file:
        sys.stdout = sys.stderr = log_file
        barrier.wait(timeout=60)
        code = main(["ingest", folder, "--database-url", url])
        log_file.flush()
    os._exit(code)


def test_two_first_ingests_into_a_new_sqlite_file_both_succeed(tmp_path: Path) -> None:
    folders = []
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        good_posts(folder, 3)
        folders.append(folder)
    url = f"sqlite:///{tmp_path / 'new.db'}"
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(2)
    logs = [tmp_path / f"{folder.name}.log" for folder in folders]
    runs = [
        spawn.Process(target=_ingest_at_once, args=(barrier, str(folder), url, str(log_path)))
        for folder, log_path in zip(folders, logs, strict=True)
    ]
    for run in runs:
        run.start()
    for run in runs:
        run.join(timeout=120)
    outputs = [log_path.read_text(encoding="utf-8") for log_path in logs]
    for run, output in zip(runs, outputs, strict=True):
        assert run.exitcode == 0, output
        assert "Traceback" not in output
    # Both folders hold the same three posts: stored once, whichever process came first.
    # A run may log a line first (e.g. a batch that met the other run's rows, written again one
    # post at a time); its summary line is the one that starts with "added".
    added = [re.search(r"^added (\d+),", out, re.MULTILINE) for out in outputs]
    assert all(added), outputs
    assert sum(int(found.group(1)) for found in added if found) == 3


async def test_two_upgrades_of_one_new_postgresql_schema_at_once_both_succeed() -> None:
    db, schema = await _fresh_postgres()
    second = Database(db.url, connect_args={"server_settings": {"search_path": schema}})
    try:
        await asyncio.gather(db.upgrade(), second.upgrade())
        assert await current_revision(second.engine) == head_revision()
    finally:
        await db.dispose()
        await second.dispose()
        await _drop_schema(schema)


# 7: a feed declaring entities stores nothing and is a failure.
async def test_a_feed_with_entities_is_refused_and_stores_nothing(database: Database) -> None:
    from feedserver import FeedServer, static

    from bot.ingest.sources import make_client

    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY lol "lol">'
        b'<!ENTITY lol9 "&lol;&lol;&lol;">]>'
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
        b"<entry><title>&lol9;</title><id>https://x.org/1</id><link href='https://x.org/1'/>"
        b"<updated>2024-01-01T00:00:00Z</updated><content>&lol9;</content></entry></feed>"
    )
    xxe = bomb.replace(b'<!ENTITY lol "lol">', b'<!ENTITY xxe SYSTEM "file:///etc/hostname">')
    undeclared = (
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
        b"<entry><title>XXE &amp;xxe;</title><id>https://x.org/2</id>"
        b"<link href='https://x.org/2'/><updated>2024-01-01T00:00:00Z</updated>"
        b"<content>text</content></entry></feed>"
    )
    with FeedServer() as server:
        for name, body in (("bomb", bomb), ("xxe", xxe), ("undeclared", undeclared)):
            server.routes[f"/{name}.xml"] = static(body, "application/atom+xml")
        async with make_client(allow_private=True) as client:
            report = await ingest(
                database,
                [server.url(f"/{n}.xml") for n in ("bomb", "xxe", "undeclared")],
                settings=load_settings(),
                client=client,
            )
    assert report.added == 0 and await stored_count(database) == 0
    errors = [f.error for f in report.failed]
    assert len(errors) == 3
    assert sum("declares XML entities" in e for e in errors) == 2
    assert any("unexpanded XML entity &xxe;" in e for e in errors)


# 8: bidi controls and other format characters never reach the store.
async def test_format_characters_are_removed_from_stored_titles_and_text(
    database: Database, tmp_path: Path
) -> None:
    bidi = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u00ad\u2061"
    family = "👨\u200d👩\u200d👧"
    post = (
        f'---\ntitle: "央行{bidi}降准 {family}"\ndate: 2023-05-01 09:00:00 +0800\n'
        f"categories: x{bidi[0]}\ntags: 标{bidi[4]}签\n---\n"
        f"<p>正文{bidi}一句，连\u200d接。</p>\n"
    )
    (tmp_path / "2023-05-01-NW202305010000000042.md").write_text(post, encoding="utf-8")
    report = await ingest(database, [str(tmp_path)], settings=load_settings())
    assert report.added == 1
    async with database.session() as session:
        article = await ArticleRepository(session).get("NW202305010000000042")
    assert article is not None
    assert article.title == f"央行降准 {family}"
    assert article.paragraphs[0][0] == "正文一句，连接。"
    assert article.category.slug == "x" and article.tag_names == ["标签"]


# 10: one article id in two files of one run is reported, naming both.
async def test_a_duplicate_article_id_in_one_run_names_both_files(
    database: Database, tmp_path: Path
) -> None:
    first = tmp_path / "2023-05-01-NW202305010000000001.md"
    first.write_text(GOOD_POST.format(title="旧", day=1), encoding="utf-8")
    (tmp_path / "copy").mkdir()
    second = tmp_path / "copy" / "NW202305010000000001.md"
    second.write_text(GOOD_POST.format(title="新", day=1), encoding="utf-8")
    report = await ingest(database, [str(tmp_path)], settings=load_settings())
    [duplicate] = report.duplicates
    assert {duplicate.source, *duplicate.error.replace(";", " ").split()} >= {
        str(first),
        str(second),
    }
    assert "NW202305010000000001" in duplicate.error
    assert report.to_json()["duplicates"] == [
        {"source": duplicate.source, "error": duplicate.error}
    ]
    assert await stored_count(database) == 1


async def test_one_article_through_two_sources_is_no_duplicate(
    database: Database, tmp_path: Path
) -> None:
    """The same post in two sources (as a folder and its site's feed would give it) is one
    article read twice, not two files claiming one id."""
    for name in ("site", "mirror"):
        (tmp_path / name).mkdir()
        post = tmp_path / name / "2023-05-01-NW202305010000000001.md"
        post.write_text(GOOD_POST.format(title="旧", day=1), encoding="utf-8")
    sources = [str(tmp_path / "site"), str(tmp_path / "mirror")]
    report = await ingest(database, sources, settings=load_settings())
    assert report.duplicates == [] and report.added == 1 and report.unchanged == 1
    assert await stored_count(database) == 1


# 14: a GBK or GB18030 post is stored, saying which encoding it was read in.
async def test_gbk_and_gb18030_posts_are_decoded_and_reported(
    database: Database, tmp_path: Path
) -> None:
    gbk = tmp_path / "2023-05-01-NW202305010000000001.md"
    gbk.write_bytes(GOOD_POST.format(title="国标码", day=1).encode("gbk"))
    gb18030 = tmp_path / "2023-05-02-NW202305010000000002.md"
    # 𠀀 (U+20000) exists in GB18030 only.
    gb18030.write_bytes(GOOD_POST.format(title="𠀀字", day=2).encode("gb18030"))
    report = await ingest(database, [str(tmp_path)], settings=load_settings())
    assert (report.added, report.failed) == (2, [])
    notes = {Path(n.source).name: n.error for n in report.notes}
    assert notes == {
        gbk.name: "not UTF-8: decoded as GBK",
        gb18030.name: "not UTF-8: decoded as GB18030",
    }
    async with database.session() as session:
        article = await ArticleRepository(session).get("NW202305010000000002")
    assert article is not None and article.title == "测试新闻：𠀀字"


# A name longer than the store's columns fails alike on both backends, with its reason.
async def test_an_overlong_tag_or_category_fails_alone_on_both_backends(
    database: Database, tmp_path: Path
) -> None:
    good_posts(tmp_path, 2)
    long_tag = dated("2023-05-01 09:00:00 +0800").replace("categories: x", "tags: " + "长" * 201)
    (tmp_path / "long-tag.md").write_text(long_tag, encoding="utf-8")
    long_category = dated("2023-05-01 09:00:00 +0800").replace(
        "categories: x", "categories: " + "c" * 300
    )
    (tmp_path / "long-category.md").write_text(long_category, encoding="utf-8")
    report = await ingest(database, [str(tmp_path)], settings=load_settings())
    failed = {Path(f.source).name: f.error for f in report.failed}
    assert set(failed) == {"long-tag.md", "long-category.md"}
    assert "more than 200" in failed["long-tag.md"]
    assert report.added == 2


async def test_an_ingest_ends_with_no_document_left_unmerged(
    postgres_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch that rolled back after writing its index rows still counts as pending
    (`pg_bulk.unmerged_documents`), which keeps searches off ranges read through the index:
    the run's end merges, so that the count does not outlive the run."""
    monkeypatch.setattr("storage.pg_bulk._unmerged_here", 3)
    await Ingestor(postgres_database, IngestReport()).finish()
    assert unmerged_documents() == 0

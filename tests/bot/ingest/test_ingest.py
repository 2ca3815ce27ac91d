"""The ingest task end to end: the real corpus, bad inputs next to good ones, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from store_support import write_good_posts

from bot.cli.main import main
from bot.ingest.pipeline import ingest
from bot.settings import load_settings
from storage.repository import ArticleRepository


def write_bad_inputs(folder: Path) -> set[str]:
    """Six kinds of broken input; returns their file names."""
    (folder / "binary.md").write_bytes(bytes(range(256)) * 8)
    (folder / "empty.md").write_text("", encoding="utf-8")
    (folder / "broken-yaml.md").write_text(
        '---\ntitle: "unclosed\ndate: [2022\n---\n<p>正文。</p>\n', encoding="utf-8"
    )
    (folder / "no-front-matter.md").write_text("<p>只有正文，没有前言。</p>\n", encoding="utf-8")
    (folder / "impossible-date.md").write_text(
        '---\ntitle: "日期不对"\ndate: 2022-13-45 25:61:00 +0800\ncategories: x\n---\n'
        "<p>正文。</p>\n",
        encoding="utf-8",
    )
    with (folder / "huge.md").open("wb") as f:
        f.write(b"---\ntitle: big\n---\n")
        f.write(b"\xe4\xb8\xad" * (20 * 1024 * 1024 // 3))
    return {"binary.md", "empty.md", "broken-yaml.md", "no-front-matter.md",
            "impossible-date.md", "huge.md"}  # fmt: skip


async def test_corpus_ingests_without_failures_and_reingest_changes_nothing(database, corpus_dir):
    settings = load_settings()
    first = await ingest(database, [str(corpus_dir)], settings=settings)
    assert first.failed == []
    assert first.added > 150
    assert first.added + first.updated + first.unchanged == len(list(corpus_dir.glob("*.md")))
    second = await ingest(database, [str(corpus_dir)], settings=settings)
    assert (second.added, second.updated, second.failed) == (0, 0, [])
    async with database.session() as session:
        repo = ArticleRepository(session)
        article = await repo.get("NW202204202349852762")
        assert article is not None
        assert article.title == "广东韶关：老工业基地迈向高质量发展"
        assert article.category.slug == "kejiribao"
        assert article.share_url.endswith("infoCode=NW202204202349852762")
        assert article.summary
        counts = dict(await repo.category_counts())
        # stories per category: two emnews copies of one story count once
        assert sum(counts.values()) == first.added - 1
        for slug, count in counts.items():
            assert await repo.count(category=slug) == count
        assert counts["kejiribao"] >= 1


async def test_changed_file_is_updated_on_the_next_ingest(database, tmp_path):
    settings = load_settings()
    [path, *_] = write_good_posts(tmp_path, 2)
    await ingest(database, [str(tmp_path)], settings=settings)
    path.write_text(path.read_text(encoding="utf-8").replace("两句话", "三句话"), encoding="utf-8")
    report = await ingest(database, [str(tmp_path)], settings=settings)
    assert (report.added, report.updated, report.unchanged) == (0, 1, 1)


async def test_bad_inputs_are_reported_and_good_posts_stored(database, tmp_path):
    settings = load_settings()
    write_good_posts(tmp_path, 3)
    bad = write_bad_inputs(tmp_path)
    report = await ingest(database, [str(tmp_path)], settings=settings)
    failed = {Path(f.source).name: f.error for f in report.failed}
    assert set(failed) == bad
    for error in failed.values():
        assert error.strip()
        assert "Traceback" not in error
    assert report.added == 3
    assert (
        "larger" in failed["huge.md"] or "MB" in failed["huge.md"] or "bytes" in failed["huge.md"]
    )


def test_cli_ingest_json_contract_and_exit_codes(tmp_path, capsys):
    db_url = f"sqlite:///{tmp_path / 'cli.db'}"
    posts = tmp_path / "posts"
    posts.mkdir()
    write_good_posts(posts, 2)
    assert main(["ingest", str(posts), "--json", "--database-url", db_url]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == {
        "added": 2,
        "updated": 0,
        "unchanged": 0,
        "failed": [],
        "not_modified": [],
        "gaps": [],
    }

    (posts / "empty.md").write_text("", encoding="utf-8")
    assert main(["ingest", str(posts), "--json", "--database-url", db_url]) == 1
    out = json.loads(capsys.readouterr().out)
    assert (out["added"], out["unchanged"]) == (0, 2)
    assert [Path(f["source"]).name for f in out["failed"]] == ["empty.md"]

    assert main(["latest", "--json", "--database-url", db_url]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [a["title"] for a in listed] == ["测试新闻：好消息2", "测试新闻：好消息1"]
    assert set(listed[0]) == {
        "key", "title", "published_at", "category", "tags", "source", "summary", "share_url",
        "file",
    }  # fmt: skip
    assert listed[0]["published_at"] == "2023-05-02T09:30:00+08:00"
    assert listed[0]["source"] == "测试日报"

    assert main(["show", listed[0]["key"], "--json", "--database-url", db_url]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["paragraphs"][0]["text"].startswith("好消息2是一条")
    assert "digest" in shown

    assert main(["show", "no-such-key", "--database-url", db_url]) == 1
    assert "no article" in capsys.readouterr().err


def test_cli_usage_errors_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as caught:
        main(["ingest"])
    assert caught.value.code == 2
    assert main(["latest", "--database-url", "mysql://x/y"]) == 2
    assert "unsupported database" in capsys.readouterr().err


def test_bad_setting_exits_2_with_one_line(tmp_path):
    env = dict(os.environ, NEWSBOT_INGEST_INTERVAL="soon", NEWSBOT_DATABASE_URL="sqlite:///x.db")
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli.main", "latest"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "newsbot: bad setting: NEWSBOT_INGEST_INTERVAL: expected seconds or a number with "
        "s, m, h or d, such as 15m (got 'soon')"
    ]


async def test_resummarize_rewrites_only_outdated_summaries(database, tmp_path):
    from bot.ingest.pipeline import resummarize

    write_good_posts(tmp_path, 3)
    await ingest(database, [str(tmp_path)], settings=load_settings())
    assert await resummarize(database) == 0
    assert await resummarize(database, everything=True) == 3
    async with database.session() as session:
        article = await ArticleRepository(session).get("NW202305010000000001")
    assert article is not None
    assert article.summary.startswith("好消息1是一条为测试而写的新闻。")

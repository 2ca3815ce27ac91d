"""`newsbot summarize --jsonl IN [--max-chars N]`: JSON lines in, JSON lines out."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.summarize import summarize

ARTICLE = (
    "新华社北京5月30日电（记者 张明）国家统计局今天发布数据，5月份居民消费价格同比上涨2.1%。"
    "其中，城市上涨2.1%，农村上涨2.0%。\n食品价格涨幅回落\n（文章来源：新华社）"
)


def write_lines(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def output_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines()]


def test_each_line_gets_its_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    items = [
        {"id": "a", "article": ARTICLE, "title": "5月份居民消费价格同比上涨2.1%"},
        {"id": 7, "article": "北向资金净流入超50亿元。"},
    ]
    source = write_lines(tmp_path / "in.jsonl", *(json.dumps(i, ensure_ascii=False) for i in items))

    assert main(["summarize", "--jsonl", str(source), "--max-chars", "40"]) == 0

    out = capsys.readouterr().out
    assert output_lines(out) == [
        {"id": "a", "summary": summarize(items[0]["title"], ARTICLE.split("\n"), max_chars=40)},
        {"id": 7, "summary": "北向资金净流入超50亿元。"},
    ]
    first = output_lines(out)[0]["summary"]
    assert isinstance(first, str) and first.startswith("国家统计局") and len(first) <= 40


def test_default_budget_is_120_characters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    long_article = "。".join(f"第{i}句讲的是一件不同的事情，而且相当长" for i in range(40)) + "。"
    source = write_lines(tmp_path / "in.jsonl", json.dumps({"id": 1, "article": long_article}))

    assert main(["summarize", "--jsonl", str(source)]) == 0

    (line,) = output_lines(capsys.readouterr().out)
    assert line["summary"] == summarize("", [long_article], max_chars=120)
    assert 0 < len(str(line["summary"])) <= 120


def test_bad_lines_are_reported_and_the_good_ones_still_come_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_lines(
        tmp_path / "in.jsonl",
        json.dumps({"id": "first", "article": "第一篇文章的正文。"}),
        "{not json",
        json.dumps({"id": "no-article"}),
        json.dumps(["a", "list"]),
        "",
        json.dumps({"id": "last", "article": "最后一篇文章的正文。"}),
    )

    assert main(["summarize", "--jsonl", str(source)]) == 1

    captured = capsys.readouterr()
    assert [line["id"] for line in output_lines(captured.out)] == ["first", "last"]
    errors = [line for line in captured.err.splitlines() if line.startswith("newsbot summarize")]
    assert len(errors) == 3
    assert "line 2: not JSON" in errors[0]
    assert "line 3:" in errors[1] and '"article"' in errors[1]
    assert "line 4: not a JSON object" in errors[2]


def test_reads_standard_input_with_a_dash(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps({"id": 1, "article": "正文一句。"})))

    assert main(["summarize", "--jsonl", "-"]) == 0

    assert output_lines(capsys.readouterr().out) == [{"id": 1, "summary": "正文一句。"}]


def test_missing_file_is_a_clear_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["summarize", "--jsonl", str(tmp_path / "nowhere.jsonl")]) == 2
    assert "cannot read" in capsys.readouterr().err


@pytest.mark.parametrize("budget", ["0", "-5", "ten"])
def test_budget_must_be_a_positive_number(
    budget: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_lines(tmp_path / "in.jsonl", json.dumps({"id": 1, "article": "正文。"}))
    with pytest.raises(SystemExit) as exit_info:
        main(["summarize", "--jsonl", str(source), "--max-chars", budget])
    assert exit_info.value.code == 2
    assert "--max-chars" in capsys.readouterr().err

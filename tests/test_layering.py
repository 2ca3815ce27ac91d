"""The import rules of ARCHITECTURE.md, enforced: storage/ never imports bot/; `telegram` only at
the edge (handlers, jobs, CLI, bot/app.py and the bot/telegram_*.py adapters); database drivers
and SQLAlchemy only in storage/."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent  # tests/ → the repository
DATABASE = {"sqlalchemy", "sqlite3", "aiosqlite", "asyncpg", "alembic"}
EDGE = ("bot/handlers/", "bot/jobs/", "bot/cli/")


def imported_roots(path: Path) -> set[str]:
    """Top-level names of every absolute import in a module, lazy imports inside functions too."""
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def is_edge(relative: str) -> bool:
    return (
        relative.startswith(EDGE)
        or relative == "bot/app.py"
        or (relative.startswith("bot/") and Path(relative).name.startswith("telegram_"))
    )


def violations() -> list[str]:
    found = []
    for package in ("bot", "storage"):
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            for root in sorted(imported_roots(path)):
                if package == "storage" and root == "bot":
                    found.append(f"{relative} imports bot")
                if root == "telegram" and not is_edge(relative):
                    found.append(f"{relative} imports telegram outside the edge")
                if root in DATABASE and package != "storage":
                    found.append(f"{relative} imports {root} outside storage/")
    return found


def test_import_rules_hold() -> None:
    assert violations() == []


@pytest.mark.parametrize(
    ("relative", "source", "expected"),
    [
        ("storage/x.py", "from bot.settings import Settings", "storage/x.py imports bot"),
        ("bot/push/x.py", "import telegram", "bot/push/x.py imports telegram outside the edge"),
        (
            "bot/services/x.py",
            "def f():\n    from sqlalchemy import select",
            "bot/services/x.py imports sqlalchemy outside storage/",
        ),
    ],
)
def test_a_broken_rule_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, relative: str, source: str, expected: str
) -> None:
    for package in ("bot", "storage"):
        (tmp_path / package).mkdir()
    target = tmp_path / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(source, encoding="utf-8")
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    assert violations() == [expected]

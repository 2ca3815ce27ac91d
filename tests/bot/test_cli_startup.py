"""What a short `newsbot` command loads: `--help` none of the heavy libraries; `latest` on a
migrated SQLite file only the settings' (pydantic, whose settings import asyncio), never
SQLAlchemy, jieba, telegram, httpx or Alembic."""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
from pathlib import Path

from bot.cli.main import COMMAND_MODULES, COMMANDS, build_parser

HEAVY = ["sqlalchemy", "jieba", "telegram", "httpx", "pydantic", "alembic", "asyncio"]


def loaded_after(arguments: list[str], cwd: Path) -> dict[str, bool]:
    """Run `newsbot ARGUMENTS` in a fresh interpreter; which of HEAVY it imported."""
    code = (
        "import json, sys\n"
        "from bot.cli.main import main\n"
        "try:\n"
        f"    main({arguments!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=cwd
    ).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def choices(parser: argparse.ArgumentParser) -> set[str]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return set(action.choices)


def test_each_command_is_registered_by_the_module_the_table_names() -> None:
    for module in COMMAND_MODULES:
        parser = argparse.ArgumentParser()
        sub = parser.add_subparsers()
        importlib.import_module(module).register(sub)
        assert choices(parser) == {c for c, m in COMMANDS.items() if m == module}, module
    assert choices(build_parser()) == set(COMMANDS)
    assert choices(build_parser(["-v", "latest", "--limit", "3"])) == {
        c for c, m in COMMANDS.items() if m == "bot.cli.store"
    }
    assert choices(build_parser(["nonsense"])) == set(COMMANDS), "an unknown command lists all"


def test_help_loads_no_heavy_library(tmp_path: Path) -> None:
    assert not any(loaded_after(["--help"], tmp_path).values())


def test_latest_on_a_migrated_sqlite_file_loads_the_settings_only(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    first = loaded_after(["latest", "--database-url", url], tmp_path)
    assert first["sqlalchemy"] and first["alembic"], "the first use creates and migrates"
    loaded = loaded_after(["latest", "--database-url", url], tmp_path)
    assert loaded["pydantic"]
    assert not any(loaded[m] for m in HEAVY if m not in ("pydantic", "asyncio")), loaded

"""Tests read no NEWSBOT_* of the developer's environment and no `.env` (tests/conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO

from bot.settings import Settings, load_settings

LEAK = "/leaked/from/the/developer"


def test_settings_in_a_test_have_no_sources_of_the_environment() -> None:
    """Run again by the test below with NEWSBOT_SOURCES in the environment and in `.env`."""
    assert "NEWSBOT_SOURCES" not in os.environ
    assert load_settings().sources == Settings.model_fields["sources"].get_default(
        call_default_factory=True
    )


def test_sources_in_the_environment_or_a_dotenv_file_do_not_leak(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"NEWSBOT_SOURCES={LEAK}\nNEWSBOT_ADMIN_IDS=7\n", "utf-8")
    runs = {
        "environment": {**os.environ, "NEWSBOT_SOURCES": LEAK},
        ".env": {k: v for k, v in os.environ.items() if k != "NEWSBOT_SOURCES"},
    }
    for where, env in runs.items():
        assert _run_inner(tmp_path, env) == 0, where
        # The control: without conftest.py the same test sees the leak, so it can fail.
        assert _run_inner(tmp_path, env, "--noconftest") == 1, where


def _run_inner(cwd: Path, env: dict[str, str], *options: str) -> int:
    test = f"{Path(__file__)}::test_settings_in_a_test_have_no_sources_of_the_environment"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *options, test]
    result = subprocess.run(
        [*command, f"--rootdir={REPO}"], cwd=cwd, env=env, capture_output=True, text=True
    )
    return result.returncode

"""compose.yaml, read by `docker-compose config` (Compose v1 from Debian's packages; `.ci/run`
installs it): refuses to start without a token, passes with one, and hands the bot settings that
load, with the database password escaped whatever it holds. No Docker engine is needed."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import IN_CI, REPO
from sqlalchemy.engine import make_url

from bot.settings import load_settings

NEWSBOT_SERVICES = ("migrate", "bot", "webhook-a", "webhook-b")
AWKWARD_PASSWORD = "p@ss:w/rd%20#?"


def compose_command() -> list[str]:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if (
        shutil.which("docker")
        and subprocess.run(
            ["docker", "compose", "version"], capture_output=True, check=False
        ).returncode
        == 0
    ):
        return ["docker", "compose"]
    if IN_CI:
        pytest.fail("docker-compose is missing under CI (.ci/run installs it)")
    pytest.skip("neither docker-compose nor the docker compose plugin is installed")


def compose_config(
    folder: Path, env: dict[str, str], *extra: str
) -> subprocess.CompletedProcess[str]:
    """`config` in a copy of the compose file, so no .env of the checkout is read."""
    shutil.copy(REPO / "compose.yaml", folder / "compose.yaml")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSBOT_", "POSTGRES_"))}
    return subprocess.run(
        [
            *compose_command(),
            "--project-directory",
            str(folder),
            "-f",
            str(folder / "compose.yaml"),
            *extra,
            "--profile",
            "webhook",
            "config",
        ],
        env={**clean, **env},
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_no_token_no_start(tmp_path: Path) -> None:
    result = compose_config(tmp_path, {})
    assert result.returncode != 0
    assert "NEWSBOT_TELEGRAM_TOKEN" in result.stderr and ".env" in result.stderr


def test_env_example_alone_is_refused_until_the_token_is_filled_in(tmp_path: Path) -> None:
    example = (REPO / ".env.example").read_text(encoding="utf-8")
    (tmp_path / ".env").write_text(example, encoding="utf-8")
    assert compose_config(tmp_path, {}).returncode != 0
    filled = example.replace("NEWSBOT_TELEGRAM_TOKEN=\n", "NEWSBOT_TELEGRAM_TOKEN=1:abc\n")
    (tmp_path / ".env").write_text(filled, encoding="utf-8")
    result = compose_config(tmp_path, {})
    assert result.returncode == 0, result.stderr


def _services(tmp_path: Path, env: dict[str, str]) -> dict[str, Any]:
    result = compose_config(tmp_path, env)
    assert result.returncode == 0, result.stderr
    services: dict[str, Any] = yaml.safe_load(result.stdout)["services"]
    return services


def test_with_a_token_the_bot_gets_settings_that_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = _services(
        tmp_path, {"NEWSBOT_TELEGRAM_TOKEN": "123:abc", "POSTGRES_PASSWORD": AWKWARD_PASSWORD}
    )
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == AWKWARD_PASSWORD
    for name in NEWSBOT_SERVICES:
        for key in [k for k in os.environ if k.startswith("NEWSBOT_")]:
            monkeypatch.delenv(key)
        # The image sets NEWSBOT_DATABASE_URL; compose's environment replaces it.
        monkeypatch.setenv("NEWSBOT_DATABASE_URL", "sqlite:////app/data/newsbot.db")
        for key, value in services[name]["environment"].items():
            monkeypatch.setenv(key, str(value))
        settings = load_settings()
        url = make_url(settings.database.url)
        assert (url.host, url.username, url.password, url.database) == (
            "postgres",
            "newsbot",
            AWKWARD_PASSWORD,
            "newsbot",
        ), name
        assert settings.telegram.token is not None
        assert settings.telegram.token.get_secret_value() == "123:abc"


def test_a_configuration_error_stops_at_the_one_shot_migrate(tmp_path: Path) -> None:
    """Docker restarts on any non-zero exit, so exit 2 must happen where nothing restarts:
    `migrate` reads every setting, never restarts, and gates every long-running service."""
    services = _services(tmp_path, {"NEWSBOT_TELEGRAM_TOKEN": "123:abc"})
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["command"] == ["newsbot", "db", "upgrade"]
    for name in ("bot", "webhook-a", "webhook-b"):
        gate = services[name]["depends_on"]["migrate"]
        assert gate["condition"] == "service_completed_successfully", name

"""Settings from `NEWSBOT_*` environment variables and `.env`, grouped by concern.

Variables map onto groups through the first underscore after the prefix, so
`NEWSBOT_TELEGRAM_BASE_URL` is `settings.telegram.base_url` and `NEWSBOT_TIMEZONE`
is the top-level `settings.timezone`.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///newsbot.db"
TELEGRAM_BASE_URL = "https://api.telegram.org/bot"

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: Any) -> timedelta:
    """Accept seconds (`900`), a suffixed amount (`15m`, `1h`, `2d`) or a timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError("expected seconds or a number with s, m, h or d, such as 15m")
        seconds = float(int(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    if seconds <= 0:
        raise ValueError("must be more than zero")
    return timedelta(seconds=seconds)


def _split_list(value: Any) -> Any:
    """Lists come as JSON arrays or as comma/whitespace-separated text."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            import json

            return json.loads(text)
        return [part for part in re.split(r"[,\s]+", text) if part]
    return value


class DatabaseSettings(BaseModel):
    url: str = DEFAULT_DATABASE_URL
    read_url: str | None = None
    """A PostgreSQL streaming replica of `url` for reads (see `storage.db.Database`)."""
    read_after_write: float = Field(default=5.0, ge=0)
    host: str | None = None
    """With HOST (and PORT, USER, PASSWORD, NAME) the PostgreSQL URL is built from parts, so a
    password needs no URL escaping by hand."""
    port: int | None = Field(default=None, ge=1, le=65535)
    user: str | None = None
    password: SecretStr | None = None
    name: str | None = None

    @model_validator(mode="after")
    def _url_from_parts(self) -> DatabaseSettings:
        parts = ("host", "port", "user", "password", "name")
        given_url = "url" in self.model_fields_set and bool(self.url.strip())
        if not any(getattr(self, part) is not None for part in parts):
            if not given_url:  # an empty NEWSBOT_DATABASE_URL means "not set"
                self.url = DEFAULT_DATABASE_URL
            return self
        if given_url:
            raise ValueError(
                "set NEWSBOT_DATABASE_URL or NEWSBOT_DATABASE_HOST/PORT/USER/PASSWORD/NAME, "
                "not both"
            )
        if not self.host:
            raise ValueError("NEWSBOT_DATABASE_HOST is needed with the other database parts")
        from storage.db import url_from_parts

        self.url = url_from_parts(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password.get_secret_value() if self.password else None,
            name=self.name,
        )
        return self


class TelegramSettings(BaseModel):
    token: SecretStr | None = None
    """Secret, so it never shows in a repr, a log line or a validation error."""
    base_url: str = TELEGRAM_BASE_URL


class AdminSettings(BaseModel):
    ids: Annotated[list[int], NoDecode, BeforeValidator(_split_list)] = Field(default_factory=list)


def _default_workers() -> int:
    return min(4, os.cpu_count() or 1)


class IngestSettings(BaseModel):
    interval: Annotated[timedelta, BeforeValidator(parse_duration)] = timedelta(minutes=15)
    workers: int = Field(default_factory=_default_workers, ge=1, le=64)
    """Processes that parse, summarize and tokenize a large source (1: all in the bot's own)."""
    nice: int = Field(default=19, ge=0, le=19)
    """How far below the bot's priority they run, so replies win the CPU (0: the same)."""
    git_dir: Path = Path("data/git")
    """Where git sources are cloned (NEWSBOT_INGEST_GIT_DIR)."""


class LogSettings(BaseModel):
    format: Literal["text", "json"] = "text"
    """`json`: one JSON object per line, for log shippers."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="NEWSBOT_",
        env_file=".env",
        env_file_encoding="utf-8",
        env_nested_delimiter="_",
        env_nested_max_split=1,
        extra="ignore",
    )

    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    admin: AdminSettings = Field(default_factory=AdminSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    log: LogSettings = Field(default_factory=LogSettings)
    sources: Annotated[list[str], NoDecode, BeforeValidator(_split_list)] = Field(
        default_factory=list
    )
    timezone: str = "Asia/Shanghai"
    local_source_roots: Annotated[list[str], NoDecode, BeforeValidator(_split_list)] = Field(
        default_factory=list
    )
    """Folders under which chat and `newsbot sources add` may name local sources."""
    allow_private_sources: bool = False
    """Let sources reach loopback, private and link-local hosts (tests, intranet feeds)."""

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class SettingsError(Exception):
    """A bad setting, phrased as one line naming the variable."""


def describe_validation_error(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        loc = [str(part) for part in item["loc"] if not str(part).isdigit()]
        name = "NEWSBOT_" + "_".join(loc).upper()
        message = item["msg"].removeprefix("Value error, ")
        value = item.get("input")
        shown = f" (got {value!r})" if isinstance(value, str | int) else ""
        parts.append(f"{name}: {message}{shown}")
    return "; ".join(parts)


def load_settings(**overrides: Any) -> Settings:
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(describe_validation_error(exc)) from None

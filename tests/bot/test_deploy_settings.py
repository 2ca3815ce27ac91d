"""Settings an operator sets in production: the database URL from parts (escaped), the token as
a secret, and the log format."""

from __future__ import annotations

import uuid

import pytest
from conftest import PG_URL, _postgres_reachable
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.settings import SettingsError, load_settings
from storage.db import Database

AWKWARD_PASSWORD = "p@ss:w/rd%20#?&=+ 密"


def _clear(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("URL", "HOST", "PORT", "USER", "PASSWORD", "NAME"):
        monkeypatch.delenv(f"NEWSBOT_DATABASE_{name}", raising=False)


def test_database_parts_are_escaped(monkeypatch: pytest.MonkeyPatch) -> None:
    _clear(monkeypatch)
    monkeypatch.setenv("NEWSBOT_DATABASE_HOST", "db.internal")
    monkeypatch.setenv("NEWSBOT_DATABASE_PORT", "6543")
    monkeypatch.setenv("NEWSBOT_DATABASE_USER", "news@bot:1/x")
    monkeypatch.setenv("NEWSBOT_DATABASE_PASSWORD", AWKWARD_PASSWORD)
    monkeypatch.setenv("NEWSBOT_DATABASE_NAME", "news/db")
    settings = load_settings()
    url = make_url(settings.database.url)
    assert url.drivername == "postgresql+asyncpg"
    assert (url.host, url.port, url.username, url.password, url.database) == (
        "db.internal",
        6543,
        "news@bot:1/x",
        AWKWARD_PASSWORD,
        "news/db",
    )
    # The raw password never appears unescaped, and never in the settings' repr.
    assert AWKWARD_PASSWORD not in settings.database.url
    assert AWKWARD_PASSWORD not in repr(settings)


def test_database_url_alone_still_works(monkeypatch: pytest.MonkeyPatch) -> None:
    _clear(monkeypatch)
    monkeypatch.setenv("NEWSBOT_DATABASE_URL", "postgresql://u@h/d")
    assert load_settings().database.url == "postgresql://u@h/d"


def test_url_and_parts_together_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    _clear(monkeypatch)
    monkeypatch.setenv("NEWSBOT_DATABASE_URL", "postgresql://u@h/d")
    monkeypatch.setenv("NEWSBOT_DATABASE_HOST", "other")
    monkeypatch.setenv("NEWSBOT_DATABASE_PASSWORD", AWKWARD_PASSWORD)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "not both" in str(caught.value)
    assert AWKWARD_PASSWORD not in str(caught.value)


def test_parts_need_a_host(monkeypatch: pytest.MonkeyPatch) -> None:
    _clear(monkeypatch)
    monkeypatch.setenv("NEWSBOT_DATABASE_USER", "newsbot")
    with pytest.raises(SettingsError, match="NEWSBOT_DATABASE_HOST"):
        load_settings()


def test_token_is_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSBOT_TELEGRAM_TOKEN", "123456:very-secret")
    settings = load_settings()
    assert settings.telegram.token is not None
    assert settings.telegram.token.get_secret_value() == "123456:very-secret"
    assert "very-secret" not in repr(settings)
    assert "very-secret" not in str(settings.model_dump())


def test_log_format(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSBOT_LOG_FORMAT", "json")
    assert load_settings().log.format == "json"
    monkeypatch.setenv("NEWSBOT_LOG_FORMAT", "xml")
    with pytest.raises(SettingsError, match="NEWSBOT_LOG_FORMAT"):
        load_settings()


@pytest.mark.postgres
async def test_awkward_role_connects_through_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """A role whose name and password hold `@ : / %` logs in with a URL built from parts.

    The local server trusts 127.0.0.1, so it does not check the password; the name it reports
    back and the round trip of the password through the URL are what is checked."""
    import asyncpg  # type: ignore[import-untyped]

    if not await _postgres_reachable():
        pytest.skip("PostgreSQL is not reachable")
    role = f"nb@i17:{uuid.uuid4().hex[:8]}/%x"
    admin = await asyncpg.connect(PG_URL.replace("+asyncpg", ""))
    quoted = '"' + role.replace('"', '""') + '"'
    password = AWKWARD_PASSWORD.replace("'", "''")
    await admin.execute(f"CREATE ROLE {quoted} LOGIN PASSWORD '{password}'")
    try:
        server = make_url(PG_URL)
        _clear(monkeypatch)
        monkeypatch.setenv("NEWSBOT_DATABASE_HOST", server.host or "127.0.0.1")
        monkeypatch.setenv("NEWSBOT_DATABASE_PORT", str(server.port or 5432))
        monkeypatch.setenv("NEWSBOT_DATABASE_USER", role)
        monkeypatch.setenv("NEWSBOT_DATABASE_PASSWORD", AWKWARD_PASSWORD)
        monkeypatch.setenv("NEWSBOT_DATABASE_NAME", server.database or "test")
        settings = load_settings()
        assert make_url(settings.database.url).password == AWKWARD_PASSWORD
        db = Database(settings.database.url)
        try:
            async with db.session() as session:
                who = await session.scalar(text("SELECT current_user"))
                where = await session.scalar(text("SELECT current_database()"))
        finally:
            await db.dispose()
        assert (who, where) == (role, server.database or "test")
    finally:
        await admin.execute(f"DROP ROLE IF EXISTS {quoted}")
        await admin.close()


def test_an_empty_url_gives_way_to_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """compose empties the image's NEWSBOT_DATABASE_URL and sets the parts instead."""
    _clear(monkeypatch)
    monkeypatch.setenv("NEWSBOT_DATABASE_URL", "")
    assert load_settings().database.url == "sqlite+aiosqlite:///newsbot.db"
    monkeypatch.setenv("NEWSBOT_DATABASE_HOST", "postgres")
    assert make_url(load_settings().database.url).host == "postgres"

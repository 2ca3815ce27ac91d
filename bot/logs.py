"""Logging for every command: text for people, or JSON lines (NEWSBOT_LOG_FORMAT=json) for log
shippers, one object per line with `time`, `level`, `logger` and `message`."""

from __future__ import annotations

import logging
import sys

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def json_formatter() -> logging.Formatter:
    from pythonjsonlogger.json import JsonFormatter

    return JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        json_ensure_ascii=False,
    )


def configure(*, verbose: bool, fmt: str = "text") -> None:
    """One handler on the root logger, on stderr; libraries' own handlers are removed in JSON
    mode (jieba prints through its own), so every line parses."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(json_formatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, handlers=[handler])


def adopt(logger_name: str, fmt: str) -> None:
    """Route a library logger that brought its own stderr handler through the root's instead."""
    if fmt != "json":
        return
    logger = logging.getLogger(logger_name)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    logger.propagate = True

"""The `newsbot` command: one sub-command module per feature, each with a `register` function."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

# Each module defines `register(subparsers)`; its sub-commands set `func(args) -> int`.
COMMANDS = {
    "ingest": "bot.cli.store",
    "latest": "bot.cli.store",
    "show": "bot.cli.store",
    "resummarize": "bot.cli.store",
    "db": "bot.cli.store",
    "sources": "bot.cli.sources",
    "search": "bot.cli.search",
    "trending": "bot.cli.search",
    "reindex": "bot.cli.search",
    "summarize": "bot.cli.summarize",
    "run": "bot.cli.bot",
    "console": "bot.cli.bot",
    "push": "bot.cli.push",
    "healthcheck": "bot.cli.health",
}
COMMAND_MODULES = list(dict.fromkeys(COMMANDS.values()))

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The whole parser; given the arguments of a known command, only the module defining it
    is imported (a short command then compiles and loads none of the others)."""
    parser = argparse.ArgumentParser(
        prog="newsbot",
        description="Store, search, summarize and push Chinese news; run the Telegram bot.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    command = next((a for a in argv if not a.startswith("-")), None) if argv is not None else None
    modules = [COMMANDS[command]] if command in COMMANDS else COMMAND_MODULES
    for name in modules:
        importlib.import_module(name).register(subparsers)
    return parser


def quiet_jieba(*, verbose: bool) -> None:
    """jieba logs its dictionary loading at DEBUG through its own handler; keep that out.
    A filter on its logger by name (importing jieba resets the logger's level), so commands
    that never segment never import jieba."""
    if not verbose:
        logging.getLogger("jieba").addFilter(lambda record: record.levelno >= logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    from bot import logs
    from bot.settings import SettingsError, load_settings

    try:
        log_format = load_settings().log.format
        logs.configure(verbose=args.verbose, fmt=log_format)
        quiet_jieba(verbose=args.verbose)
        logs.adopt("jieba", log_format)
        return int(args.func(args))
    except SettingsError as exc:
        print(f"newsbot: bad setting: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`newsbot latest | head`); say nothing more.
        sys.stderr.close()
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())

"""`newsbot run` (long polling or a webhook) and `newsbot console` (a terminal chat, no token)."""

from __future__ import annotations

import argparse
import hmac
import logging
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from bot.cli.store import EXIT_FAILED, EXIT_USAGE, add_database_option, settings_from

if TYPE_CHECKING:
    from bot.settings import Settings

DEMO_DB_NAME = "newsbot-demo.db"
log = logging.getLogger(__name__)

NO_TOKEN = (
    "newsbot: NEWSBOT_TELEGRAM_TOKEN is not set, so the bot cannot reach Telegram; "
    "try it in a terminal with `newsbot console --demo`"
)
SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def _run(args: argparse.Namespace) -> int:
    import asyncio

    settings = settings_from(args)
    if not settings.telegram.token:
        print(NO_TOKEN, file=sys.stderr)
        return EXIT_USAGE
    logging.getLogger("bot").setLevel(logging.INFO)
    if args.webhook:
        problem = _webhook_problem(args)
        if problem:
            print(f"newsbot: {problem}", file=sys.stderr)
            return EXIT_USAGE
    from telegram.error import TelegramError

    from storage.db import StoreError

    try:
        if args.metrics_port is not None:
            from bot import metrics

            metrics.serve(args.metrics_port, args.metrics_listen)
        if args.webhook:
            asyncio.run(serve_webhook(settings, args))
        else:
            run_polling(settings)
    except (OSError, RuntimeError, StoreError, TelegramError) as exc:
        print(f"newsbot: cannot run the bot: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return 0


def run_polling(settings: Settings) -> None:
    from telegram import Update

    from bot.app import build_application

    application = build_application(settings)
    application.run_polling(allowed_updates=Update.ALL_TYPES, close_loop=False)


def _webhook_problem(args: argparse.Namespace) -> str | None:
    if not args.url:
        return "--webhook needs --url, the public HTTPS address Telegram posts to"
    if not args.secret_token or not SECRET_TOKEN.match(args.secret_token):
        return "--webhook needs --secret-token: 1-256 characters of A-Z, a-z, 0-9, _ and -"
    return None


def webhook_app(application: Any, path: str, secret: str) -> Any:
    """Starlette app: the Telegram endpoint (secret checked) feeding PTB's update queue,
    `/healthz` and `/metrics`; PTB's own webhook server cannot serve extra routes."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route
    from telegram import Update

    expected = secret.encode()

    async def telegram(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(given, expected):
            log.warning("webhook request without the right secret token from %s", request.client)
            return Response(status_code=403)
        try:
            data = await request.json()
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("not an Update object")
            update = Update.de_json(data, application.bot)
        except Exception as exc:  # any body Telegram would never send: refuse it, go on
            log.warning(
                "webhook: refused a request body that is not a Telegram update (%s: %s)",
                type(exc).__name__,
                str(exc).splitlines()[0][:200] if str(exc) else "",
            )
            return Response(status_code=400)
        await application.update_queue.put(update)
        return Response()

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def prometheus(request: Request) -> Response:
        """Only for direct scrapes: a request a reverse proxy forwarded (the public webhook
        URL through Caddy) is answered 404, so the public URL does not publish the metrics."""
        from bot import metrics

        if "x-forwarded-for" in request.headers or "forwarded" in request.headers:
            return Response(status_code=404)

        body, content_type = metrics.exposition()
        return Response(body, headers={"Content-Type": content_type})

    return Starlette(
        routes=[
            Route(path, telegram, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", prometheus, methods=["GET"]),
        ]
    )


async def serve_webhook(settings: Settings, args: argparse.Namespace) -> None:
    import uvicorn
    from telegram import Update

    from bot.app import build_application

    application = build_application(settings)
    path = urlparse(args.url).path or "/"
    server = uvicorn.Server(
        uvicorn.Config(
            webhook_app(application, path, args.secret_token),
            host=args.listen,
            port=args.port,
            log_level="warning",
            log_config=None,  # uvicorn's lines go through the root handler (text or JSON)
        )
    )
    async with application:
        if application.post_init:
            await application.post_init(application)
        await application.bot.set_webhook(
            args.url, secret_token=args.secret_token, allowed_updates=Update.ALL_TYPES
        )
        await application.start()
        log.info("serving the webhook on %s:%d%s", args.listen, args.port, path)
        try:
            await server.serve()
        finally:
            await application.stop()
    if application.post_shutdown:
        await application.post_shutdown(application)


def demo_database_url(url: str) -> str:
    """The demo's own SQLite file, `newsbot-demo.db` beside the configured SQLite file (in the
    working folder for other stores): the sample posts never enter the user's store."""
    from storage.db import sqlite_file

    file = sqlite_file(url)
    folder = Path(file).parent if file else Path(".")
    return f"sqlite+aiosqlite:///{(folder / DEMO_DB_NAME).resolve()}"


def _console(args: argparse.Namespace) -> int:
    import asyncio

    from bot.cli.console import chat
    from bot.i18n import language_for
    from bot.store import database_of

    settings = settings_from(args)
    if args.demo:
        settings.database.url = demo_database_url(settings.database.url)
    db = database_of(settings)

    async def main() -> int:
        try:
            return await chat(
                db,
                settings,
                lang=language_for(args.lang),
                demo=args.demo,
                read_line=lambda: input("> " if sys.stdin.isatty() else ""),
                out=sys.stdout,
                color=sys.stdout.isatty(),
                chat_id=args.chat,
            )
        finally:
            await db.dispose()

    return asyncio.run(main())


def register(subparsers: Any) -> None:
    run = subparsers.add_parser("run", help="run the Telegram bot (long polling or a webhook)")
    add_database_option(run)
    run.add_argument("--webhook", action="store_true", help="receive updates by webhook")
    run.add_argument("--listen", default="0.0.0.0", help="webhook address to listen on")
    run.add_argument("--port", type=int, default=8080, help="webhook port")
    run.add_argument("--url", help="public webhook URL Telegram posts to")
    run.add_argument("--secret-token", help="secret Telegram sends with every webhook request")
    run.add_argument(
        "--metrics-port",
        type=int,
        help="serve Prometheus /metrics on this port too (the webhook server always has it)",
    )
    run.add_argument(
        "--metrics-listen", default="0.0.0.0", help="address for --metrics-port (default 0.0.0.0)"
    )
    run.set_defaults(func=_run)

    console = subparsers.add_parser(
        "console", help="chat with the bot in this terminal (no Telegram token needed)"
    )
    add_database_option(console)
    console.add_argument(
        "--demo",
        action="store_true",
        help=f"chat on the sample posts, in their own store ({DEMO_DB_NAME} beside the usual one)",
    )
    console.add_argument("--lang", default="zh", help="zh (default) or en")
    console.add_argument(
        "--chat", type=int, default=0, help="the Telegram chat whose subscriptions to manage"
    )
    console.set_defaults(func=_console)

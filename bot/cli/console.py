"""`newsbot console`: chat with the bot in a terminal, through the same services and renderer."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from bot.i18n import Lang, text
from bot.push.transport import PRIVATE, ChatInfo, Member
from bot.render.console import keyboard_lines, to_terminal
from bot.render.html import RenderContext, render
from bot.render.keyboards import Button, CallbackStore, parse_callback
from bot.services import admin, articles, browse, search, subscriptions
from bot.services import sources as source_service
from bot.services.actions import help_reply, reply_for_action, trending_for
from bot.services.replies import Help, Notice, Reply, Viewer, Welcome
from bot.services.subscriptions import Place
from bot.settings import Settings
from storage.db import Database

DEMO_DIR = Path(__file__).resolve().parent.parent / "demo"
QUIT = {"/quit", "/exit", "/q"}

Command = Callable[[Sequence[str]], Awaitable[Reply]]


class NoChats:
    """The console's `Chats`: its own chat is private, and it sees no channels or groups."""

    bot_id = 0

    async def chat(self, name: str) -> ChatInfo | None:
        return None

    async def member(self, chat_id: int, user_id: int) -> Member | None:
        return None


@dataclass
class ConsoleChat:
    """One terminal conversation: commands in, rendered replies out, buttons by number."""

    db: Database
    settings: Settings
    lang: Lang = "zh"
    out: TextIO = sys.stdout
    color: bool = False
    callbacks: CallbackStore = field(default_factory=CallbackStore)
    buttons: list[Button] = field(default_factory=list)
    gate: admin.IngestGate = field(default_factory=admin.IngestGate)
    started: float = field(default_factory=time.monotonic)
    chat_id: int = 0
    """The chat whose subscriptions `/subscribe` and the others manage."""

    @property
    def viewer(self) -> Viewer:
        return Viewer(user_id=0, lang=self.lang, is_admin=True, display_name="console")

    @property
    def place(self) -> Place:
        return Place(self.chat_id, PRIVATE, self.lang, user_id=self.viewer.user_id)

    def commands(self) -> dict[str, Command]:
        db, viewer, place, chats = self.db, self.viewer, self.place, NoChats()
        return {
            "start": lambda args: _ready(Welcome(viewer.display_name)),
            "help": lambda args: _ready(self.help()),
            "latest": lambda args: articles.latest_command(db, args, viewer),
            "search": lambda args: search.search_command(db, args, viewer),
            "categories": lambda args: browse.categories(db),
            "tags": lambda args: browse.tags(db),
            "category": lambda args: articles.category_command(db, args, viewer),
            "tag": lambda args: articles.tag_command(db, args, viewer),
            "show": lambda args: articles.show_command(db, args, viewer),
            "trending": lambda args: trending_for(db, viewer),
            "stats": lambda args: admin.stats(db, started_monotonic=self.started),
            "sources": lambda args: source_service.list_sources(db, self.settings),
            "addsource": lambda args: source_service.add_source(db, self.settings, args, viewer),
            "removesource": lambda args: source_service.remove_source(db, args),
            "ingest": self.ingest,
            "subscribe": lambda args: subscriptions.subscribe_command(db, chats, place, args),
            "unsubscribe": lambda args: subscriptions.unsubscribe_command(db, chats, place, args),
            "subscriptions": lambda args: subscriptions.list_subscriptions(db, place),
        }

    def help(self) -> Help:
        """The commands this console answers."""
        reply = help_reply(self.viewer, None)
        have = self.commands()
        return Help(
            tuple(c for c in reply.commands if c in have),
            tuple(c for c in reply.admin_commands if c in have),
            None,
        )

    async def ingest(self, args: Sequence[str]) -> Reply:
        sources = await source_service.ingest_targets(self.db, self.settings, args)
        if isinstance(sources, Notice):
            return sources
        if not sources:
            return Notice("ingest_no_sources")
        summary = await self.gate.run(self.db, sources, self.settings)
        return summary or Notice("ingest_busy")

    async def answer(self, line: str) -> Reply | None:
        """The reply to one typed line; None for a blank line."""
        line = line.strip()
        if not line:
            return None
        if line.isdigit() and not line.startswith("0"):
            return await self.press(int(line))
        if not line.startswith("/"):
            return await search.search_command(self.db, line.split(), self.viewer)
        name, *args = line.split()
        name = name[1:].partition("@")[0].lower()
        if name.startswith("show_"):
            name, args = "show", [line.split()[0][len("/show_") :].partition("@")[0]]
        command = self.commands().get(name)
        if command is None:
            return Notice("unknown_command", {"command": name[:32]})
        return await command(args)

    async def press(self, number: int) -> Reply:
        data = self.buttons[number - 1].callback_data if 1 <= number <= len(self.buttons) else None
        if data is None:
            return Notice("console_no_buttons", {"number": number})
        if data.startswith("push:"):  # the subscription buttons
            pressed = await subscriptions.press(self.db, NoChats(), self.place, data)
            return pressed.edit or pressed.toast or Notice("console_no_buttons", {"number": number})
        if data.startswith("src:"):  # the source buttons under /sources
            _, verb, source_id = data.split(":", 2)
            if verb == "rm":
                return await source_service.remove_source(self.db, [source_id])
            return await self.ingest([source_id])
        return await reply_for_action(self.db, parse_callback(data, self.callbacks), self.viewer)

    def show(self, reply: Reply) -> None:
        self.buttons = []
        for message in render(reply, RenderContext(self.lang, self.settings.tz, self.callbacks)):
            print(to_terminal(message.html, color=self.color), file=self.out)
            if message.keyboard is not None:
                for line in keyboard_lines(message.keyboard, len(self.buttons) + 1):
                    print(line, file=self.out)
                self.buttons.extend(message.keyboard.buttons)
            print(file=self.out)


async def _ready(reply: Reply) -> Reply:
    return reply


async def chat(
    db: Database,
    settings: Settings,
    *,
    lang: Lang,
    demo: bool,
    read_line: Callable[[], str],
    out: TextIO,
    color: bool,
    chat_id: int = 0,
) -> int:
    """Run the conversation until /quit or the end of input."""
    await db.ensure_schema()
    console = ConsoleChat(db, settings, lang=lang, out=out, color=color, chat_id=chat_id)
    if demo:
        from bot.ingest.pipeline import ingest

        report = await ingest(db, [str(DEMO_DIR)], settings=settings)
        count = report.added + report.updated + report.unchanged
        print(text(lang, "console_demo_loaded", count=count), file=out)
    print(text(lang, "console_intro", database=db.engine.url.render_as_string()), file=out)
    print(file=out)
    while True:
        try:
            line = await asyncio.to_thread(read_line)
        except EOFError:
            return 0
        if line.strip().lower() in QUIT:
            return 0
        reply = await console.answer(line)
        if reply is not None:
            console.show(reply)

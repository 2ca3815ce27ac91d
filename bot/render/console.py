"""Telegram HTML → terminal text, for `newsbot console`."""

from __future__ import annotations

import itertools
from html.parser import HTMLParser

from bot.render.keyboards import Keyboard

BOLD, RESET, UNDERLINE = "\033[1m", "\033[0m", "\033[4m"


class _TerminalText(HTMLParser):
    def __init__(self, color: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.color = color
        self.parts: list[str] = []
        self.links: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"b", "strong"} and self.color:
            self.parts.append(BOLD)
        elif tag == "a":
            self.links.append(dict(attrs).get("href"))
            if self.color:
                self.parts.append(UNDERLINE)

    def handle_endtag(self, tag: str) -> None:
        if tag in {"b", "strong"} and self.color:
            self.parts.append(RESET)
        elif tag == "a":
            if self.color:
                self.parts.append(RESET)
            href = self.links.pop() if self.links else None
            if href:
                self.parts.append(f" <{href}>")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def to_terminal(html: str, *, color: bool = False) -> str:
    """The message as a terminal shows it: bold as ANSI when `color`, links spelled out."""
    parser = _TerminalText(color)
    parser.feed(html)
    parser.close()
    return "".join(parser.parts)


def keyboard_lines(keyboard: Keyboard | None, first_number: int = 1) -> list[str]:
    """Buttons numbered so a console user can press one by typing its number."""
    if keyboard is None:
        return []
    numbers = itertools.count(first_number)
    return [
        "   ".join(f"[{next(numbers)}] {b.text}" + (f" <{b.url}>" if b.url else "") for b in row)
        for row in keyboard.rows
    ]

"""Inline keyboards as plain values, and the compact callback data behind their buttons.

Telegram allows 64 bytes of `callback_data`. Page buttons carry their whole query when it
fits (`p:latest:c=kejiribao:o=10`); a longer one is kept server-side in a small LRU and
the button carries its short id (`k:3f9a0c21d4`), which may expire.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal, cast, get_args
from urllib.parse import unquote

from bot.services.replies import ListKind, PageQuery

MAX_CALLBACK_BYTES = 64
_KINDS: tuple[ListKind, ...] = get_args(ListKind)
MenuName = Literal["latest", "categories", "tags", "trending", "help"]


@dataclass(frozen=True, slots=True)
class Button:
    text: str
    callback_data: str | None = None
    url: str | None = None
    switch_inline_query_current_chat: str | None = None


@dataclass(frozen=True, slots=True)
class Keyboard:
    rows: tuple[tuple[Button, ...], ...]

    @property
    def buttons(self) -> tuple[Button, ...]:
        return tuple(button for row in self.rows for button in row)


@dataclass(frozen=True, slots=True)
class OpenPage:
    page: PageQuery


@dataclass(frozen=True, slots=True)
class OpenCategory:
    slug: str


@dataclass(frozen=True, slots=True)
class OpenTag:
    name: str


@dataclass(frozen=True, slots=True)
class OpenArticle:
    key: str


@dataclass(frozen=True, slots=True)
class OpenMenu:
    name: MenuName


@dataclass(frozen=True, slots=True)
class Expired:
    """A button whose server-side data is gone (restart or LRU eviction)."""


Action = OpenPage | OpenCategory | OpenTag | OpenArticle | OpenMenu | Expired


class CallbackStore:
    """The LRU of callback payloads too long for 64 bytes, keyed by a short content hash."""

    def __init__(self, capacity: int = 2048) -> None:
        self.capacity = capacity
        self._payloads: OrderedDict[str, str] = OrderedDict()

    def pack(self, payload: str) -> str:
        if len(payload.encode("utf-8")) <= MAX_CALLBACK_BYTES:
            return payload
        short_id = hashlib.blake2b(payload.encode("utf-8"), digest_size=6).hexdigest()
        self._payloads[short_id] = payload
        self._payloads.move_to_end(short_id)
        while len(self._payloads) > self.capacity:
            self._payloads.popitem(last=False)
        return f"k:{short_id}"

    def unpack(self, data: str) -> str | None:
        if not data.startswith("k:"):
            return data
        payload = self._payloads.get(data[2:])
        if payload is not None:
            self._payloads.move_to_end(data[2:])
        return payload


def _quote(value: str) -> str:
    return value.replace("%", "%25").replace(":", "%3A")


def page_payload(page: PageQuery) -> str:
    """`p:KIND:o=OFFSET:n=LIMIT` and whichever of `c=`, `t=`, `q=` are set (`%`, `:` quoted)."""
    parts = ["p", page.kind, f"o={page.offset}", f"n={page.limit}"]
    for name, value in (("c", page.category), ("t", page.tag), ("q", page.query)):
        if value is not None:
            parts.append(f"{name}={_quote(value)}")
    return ":".join(parts)


def _parse_page(payload: str) -> PageQuery | None:
    """The inverse of `page_payload`."""
    parts = payload.split(":")
    if len(parts) < 4 or parts[0] != "p" or parts[1] not in _KINDS:
        return None
    fields: dict[str, str] = {}
    for part in parts[2:]:
        name, equals, value = part.partition("=")
        if name not in {"o", "n", "c", "t", "q"} or name in fields or not equals:
            return None
        fields[name] = unquote(value)
    offset, limit = fields.pop("o", ""), fields.pop("n", "")
    if not (offset.isdigit() and limit.isdigit()) or len(offset) > 7 or len(limit) > 3:
        return None
    return PageQuery(
        kind=parts[1],
        offset=int(offset),
        limit=max(1, int(limit)),
        category=fields.get("c"),
        tag=fields.get("t"),
        query=fields.get("q"),
    )


def parse_callback(data: str, store: CallbackStore) -> Action | None:
    """What a pressed button asks for; None for data this bot never made."""
    payload = store.unpack(data)
    if payload is None:
        return Expired()
    kind, _, rest = payload.partition(":")
    if kind == "p":
        page = _parse_page(payload)
        return OpenPage(page) if page else None
    if not rest:
        return None
    if kind == "c":
        return OpenCategory(rest)
    if kind == "t":
        return OpenTag(rest)
    if kind == "a":
        return OpenArticle(rest)
    if kind == "m":
        return OpenMenu(cast(MenuName, rest)) if rest in get_args(MenuName) else None
    return None


def page_button(text: str, page: PageQuery, store: CallbackStore) -> Button:
    return Button(text, callback_data=store.pack(page_payload(page)))


def category_button(text: str, slug: str, store: CallbackStore) -> Button:
    return Button(text, callback_data=store.pack(f"c:{slug}"))


def tag_button(text: str, name: str, store: CallbackStore) -> Button:
    return Button(text, callback_data=store.pack(f"t:{name}"))


def menu_button(text: str, name: MenuName) -> Button:
    return Button(text, callback_data=f"m:{name}")

"""Bulletin posts (午间公告, 晚间公告, 盘前要闻 …): a list of items, one per company or event,
joined by `；`. Their summary is the item the title names, else the first items: ranking the
list's clauses as sentences picks any company's line."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.summarize.clean import clean_sentence

BULLETIN_TITLE = re.compile(
    r"^\s*[【\[]?(?:(?:早间|午间|晚间|盘前|盘后|盘中|隔夜|周末|今日|收评)(?:公告|要闻|必读|速递)"
    r"|公告(?:速递|精选|汇总|集锦)|要闻(?:速递|精选|汇总))[】\]]?\s*[：:｜|丨]?\s*"
)
_ITEM_SEPARATOR = re.compile(r"[；;]\s*|\n+")
_TRAILING_SOURCE = re.compile(r"[（(][^（）()]{1,16}[）)]\s*$")
_NAME = re.compile(r"^([^：:，,。]{1,16})[：:]")
MIN_TITLE_OVERLAP = 0.5


def bulletin_items(title: str, paragraphs: Sequence[str]) -> list[str] | None:
    """The cleaned items of a bulletin post, or None when the post is not one."""
    if not BULLETIN_TITLE.match(title):
        return None
    items = []
    for part in _ITEM_SEPARATOR.split("\n".join(paragraphs)):
        item = clean_sentence(_TRAILING_SOURCE.sub("", part.strip()))
        if item:
            items.append(item.rstrip("；;，,、 "))
    return items if len(items) >= 2 else None


def named_item(title: str, items: Sequence[str]) -> int | None:
    """The place of the item the title names: its `公司：` name appears in the title, or most of
    the title's character pairs are in it."""
    named = BULLETIN_TITLE.sub("", title, count=1)
    if not named:
        return None
    for place, item in enumerate(items):
        name = _NAME.match(item)
        if name and name.group(1) in named:
            return place
    wanted = _pairs(named)
    if not wanted:
        return None
    best = max(range(len(items)), key=lambda i: len(wanted & _pairs(items[i])))
    if len(wanted & _pairs(items[best])) >= MIN_TITLE_OVERLAP * len(wanted):
        return best
    return None


def _pairs(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)}

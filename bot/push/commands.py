"""The words after `/subscribe`, read into a subscription request (pure, no Telegram types).

/subscribe [@channel] [cat:slug] [#tag] [+keyword] [-keyword] [keyword]
           [now | every 30m | daily 08:00 | 每天 8:00] [max 5]
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import time

from bot.push.schedule import Schedule, ScheduleError, parse_schedule

MAX_ITEMS_LIMIT = 50
DEFAULT_MAX_ITEMS = 10
MAX_KEYWORDS = 20
MAX_WORD_CHARS = 40

SCHEDULE_BUTTONS = (
    ("i", "button_immediate", Schedule()),
    ("e60", "button_hourly", Schedule("interval", minutes=60)),
    ("d0800", "button_daily", Schedule("daily", at=time(8, 0))),
)
"""The subscribe menu's schedules: callback code, catalog label, schedule."""
_CATEGORY_PREFIXES = ("cat:", "category:", "分类:", "分类：")
_SCHEDULE_WORD = re.compile(
    r"^(?:\d{1,4}(?:m|min|h|分钟|小时)|\d{1,2}[:：]\d{2}|每\S+|now|immediate|即时|立即|实时)$",
    re.IGNORECASE,
)
_MAX_WORD = re.compile(r"^(?:max[=:]?|最多)(\d*)$", re.IGNORECASE)


class ArgumentError(ValueError):
    """One word we could not read; the reply quotes it."""

    def __init__(self, word: str) -> None:
        super().__init__(word)
        self.word = word


@dataclass(frozen=True, slots=True)
class SubscribeRequest:
    channel: str | None = None
    categories: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    schedule: Schedule = field(default_factory=Schedule)
    max_items: int = DEFAULT_MAX_ITEMS


def _schedule(text: str, word: str) -> Schedule:
    try:
        return parse_schedule(text)
    except ScheduleError:
        raise ArgumentError(word) from None


def _count(text: str, word: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_ITEMS_LIMIT:
        raise ArgumentError(word)
    return int(text)


def parse_subscribe(words: Sequence[str]) -> SubscribeRequest:
    """Read the arguments; the first word naming an @channel makes it the target."""
    channel = None
    categories: list[str] = []
    tags: list[str] = []
    include: list[str] = []
    exclude: list[str] = []
    schedule = Schedule()
    max_items = DEFAULT_MAX_ITEMS
    queue = [word for word in words if word.strip()]
    if queue and queue[0].startswith("@") and len(queue[0]) > 1:
        channel = queue.pop(0)
    while queue:
        word = queue.pop(0)
        lower = word.lower()
        if len(word) > MAX_WORD_CHARS:
            raise ArgumentError(word[:MAX_WORD_CHARS] + "…")
        if lower in {"every", "daily", "每天", "每日"}:
            if not queue:
                raise ArgumentError(word)
            schedule = _schedule(f"{lower} {queue.pop(0)}", word)
        elif _SCHEDULE_WORD.match(word):
            try:
                schedule = parse_schedule(word)
            except ScheduleError:
                if not word.startswith("每"):
                    raise ArgumentError(word) from None
                include.append(word)
        elif match := _MAX_WORD.match(word):
            amount = match.group(1) or (queue.pop(0) if queue else "")
            max_items = _count(amount, word)
        elif lower.startswith(_CATEGORY_PREFIXES):
            slug = word.split(":", 1)[-1].split("：", 1)[-1].strip()
            if not slug:
                raise ArgumentError(word)
            categories.append(slug)
        elif word.startswith("#") and len(word) > 1:
            tags.append(word[1:])
        elif word[0] in "+＋" and len(word) > 1:
            include.append(word[1:])
        elif word[0] in "-－" and len(word) > 1:
            exclude.append(word[1:])
        elif word.startswith("@"):
            raise ArgumentError(word)
        else:
            include.append(word)
    if len(include) + len(exclude) > MAX_KEYWORDS:
        raise ArgumentError(" ".join((include + exclude)[MAX_KEYWORDS:])[:MAX_WORD_CHARS])
    return SubscribeRequest(
        channel=channel,
        categories=tuple(dict.fromkeys(categories)),
        tags=tuple(dict.fromkeys(tags)),
        include=tuple(dict.fromkeys(include)),
        exclude=tuple(dict.fromkeys(exclude)),
        schedule=schedule,
        max_items=max_items,
    )

"""When a subscription is due: as soon as ingested, every N minutes, or daily at HH:MM."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

ScheduleKind = Literal["immediate", "interval", "daily"]

MAX_INTERVAL_MINUTES = 7 * 24 * 60

_INTERVAL = re.compile(r"^(?:every:?|每)?(\d{1,5})\s*(m|min|分钟|h|小时)?$", re.IGNORECASE)
_DAILY = re.compile(r"^(?:daily:?|每天|每日)?([01]?\d|2[0-3])[:：]([0-5]\d)$", re.IGNORECASE)
_IMMEDIATE = {"now", "immediate", "instant", "即时", "立即", "实时"}


class ScheduleError(ValueError):
    """Text that names no schedule we know."""


@dataclass(frozen=True, slots=True)
class Schedule:
    kind: ScheduleKind = "immediate"
    minutes: int = 0
    at: time | None = None

    @property
    def is_digest(self) -> bool:
        return self.kind != "immediate"

    def encode(self) -> str:
        """The stored form: `immediate`, `every:30` or `daily:08:00`."""
        if self.kind == "interval":
            return f"every:{self.minutes}"
        if self.kind == "daily" and self.at is not None:
            return f"daily:{self.at:%H:%M}"
        return "immediate"

    @classmethod
    def decode(cls, stored: str) -> Schedule:
        return parse_schedule(stored)


def parse_schedule(text: str) -> Schedule:
    """Read `now`, `30m`, `every 2h`, `每30分钟`, `08:00`, `daily 08:00` or `每天 8:00`."""
    compact = "".join(text.split()).lower()
    if not compact or compact in _IMMEDIATE:
        return Schedule()
    if match := _DAILY.match(compact):
        return Schedule("daily", at=time(int(match.group(1)), int(match.group(2))))
    if match := _INTERVAL.match(compact):
        minutes = int(match.group(1)) * (60 if match.group(2) in {"h", "小时"} else 1)
        if not 1 <= minutes <= MAX_INTERVAL_MINUTES:
            raise ScheduleError(f"an interval must be 1 minute to 7 days, not {text!r}")
        return Schedule("interval", minutes=minutes)
    raise ScheduleError(f"not a schedule: {text!r}")


def next_due(schedule: Schedule, after: datetime, tz: ZoneInfo) -> datetime | None:
    """The first moment strictly after `after` the subscription should push; None = always."""
    if after.tzinfo is None:
        raise ValueError("`after` must be timezone-aware")
    if schedule.kind == "interval":
        return after + timedelta(minutes=schedule.minutes)
    if schedule.kind == "daily" and schedule.at is not None:
        local = after.astimezone(tz)
        day = local.date()
        while True:
            candidate = datetime.combine(day, schedule.at, tzinfo=tz).astimezone(UTC)
            if candidate > after:
                return candidate
            day += timedelta(days=1)
    return None

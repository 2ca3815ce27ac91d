"""The range of publication dates the store accepts, checked by the parser and by the store.

A post dated 0001-01-01 +0800 is not representable in UTC (the store's zone) and one dated 9999
would stay first in every listing for ever, so both are refused as a per-post failure.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=2)
"""How far ahead of now a date may be: clocks and zones differ, schedules publish ahead."""


def date_problem(value: datetime, now: datetime | None = None) -> str | None:
    """Why `value` cannot be stored as a publication date, or None when it can."""
    if value.tzinfo is None or value.utcoffset() is None:
        return "the date has no time zone"
    try:
        moment = value.astimezone(UTC)
    except (OverflowError, ValueError):
        return f"date {value.isoformat()} is outside the representable range"
    now = now or datetime.now(UTC)
    if moment < EARLIEST:
        return f"date {value.isoformat()} is before {EARLIEST:%Y-%m-%d}"
    if moment > now + FUTURE_SLACK:
        return f"date {value.isoformat()} is more than {FUTURE_SLACK.days} days in the future"
    # Within the range every zone (±14 h) can show it, so no need to try them all.
    return None


class BadDate(ValueError):
    """A record's publication date is outside the range the store accepts."""

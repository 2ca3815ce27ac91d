"""How a source's zone-less times are read: the per-source `tz` setting.

A post file may write `date: 2021-12-01 13:33:50` with no offset; the site means its own
zone. Jekyll, even with `timezone: Asia/Shanghai`, reads such a time as UTC (jekyll/jekyll
#1273, #4485) and publishes it 8 h late in its feed and pages, with an offset that looks
right. Nothing in the rendered output tells those posts from posts written with `+0800`,
so undoing it is a setting of the source, not a guess per post.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

JEKYLL_UTC = "jekyll-utc"


@dataclass(frozen=True, slots=True)
class TimeRule:
    """`zone`: where zone-less times are wall-clock times. `jekyll_utc`: the times this
    source renders (feed, pages) are Jekyll's UTC reading of zone-less front matter, so
    their UTC wall clock is read back in `zone`."""

    zone: tzinfo
    jekyll_utc: bool = False

    def rendered(self, moment: datetime) -> datetime:
        """A time as a rendered route states it, corrected by this rule (zone-less: in
        `zone`)."""
        if moment.tzinfo is None:
            return moment.replace(tzinfo=self.zone)
        if self.jekyll_utc:
            return moment.astimezone(UTC).replace(tzinfo=self.zone)
        return moment


def parse_time_rule(setting: str | None, default_zone: tzinfo) -> TimeRule:
    """`None` or "": the site's zone. `Area/City`: that zone. `jekyll-utc` or
    `jekyll-utc:Area/City`: undo Jekyll's UTC reading, zone-less times in that zone (or the
    site's)."""
    text = (setting or "").strip()
    if not text:
        return TimeRule(default_zone)
    jekyll = text == JEKYLL_UTC or text.startswith(JEKYLL_UTC + ":")
    name = text.removeprefix(JEKYLL_UTC).removeprefix(":") if jekyll else text
    if not name:
        return TimeRule(default_zone, jekyll_utc=True)
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"tz: unknown time zone {name[:40]!r} (use an IANA name such as Asia/Shanghai, "
            f"or {JEKYLL_UTC}[:ZONE])"
        ) from None
    return TimeRule(zone, jekyll_utc=jekyll)

"""A trial read of a source before it is saved: how many posts it gives and their first titles.

Nothing is stored. The read goes through the same readers as ingest (with the same limits, the
same address guard and the source's time rule) and parses a few posts to show their titles,
off the event loop.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from datetime import tzinfo
from itertools import islice
from pathlib import Path

import httpx

from bot.ingest import sources as src
from bot.ingest.git_source import read_git
from bot.ingest.parser import ParseError, parse_post
from bot.ingest.timerule import TimeRule
from storage.records import Failure

TITLES_SHOWN = 5


@dataclass(frozen=True, slots=True)
class Trial:
    kind: str
    found: int
    titles: tuple[str, ...]
    failures: tuple[Failure, ...]
    name: str | None = None
    feed_url: str | None = None
    """The feed a home page led to: what to follow instead of the page."""

    @property
    def usable(self) -> bool:
        return self.found > 0 and len(self.titles) > 0


def _titles(raws: list[src.RawPost], tz: tzinfo) -> tuple[list[str], list[Failure]]:
    titles, failures = [], []
    for raw in raws:
        try:
            post = parse_post(raw.text, raw.filename, tz=raw.tz or tz, key_hint=raw.key_hint)
            titles.append(post.title)
        except ParseError as exc:
            failures.append(Failure(raw.origin, str(exc)))
    return titles, failures


def _read_local(location: str, kind: str) -> tuple[int, list[src.RawPost], list[Failure]]:
    files = src.post_files(Path(location)) if kind == "folder" else [Path(location)]
    raws, failures = [], []
    for path in files:
        item = src.read_file(path)
        if isinstance(item, Failure):
            failures.append(item)
        else:
            raws.append(item)
        if len(raws) >= TITLES_SHOWN:
            break
    return len(files), raws, failures


async def trial_read(
    location: str, *, rule: TimeRule, git_dir: Path, client: httpx.AsyncClient
) -> Trial:
    """Read `location` once as ingest would, without storing or remembering anything (a git
    source is cloned where ingest keeps its clone, so its first run only fetches)."""
    kind = src.classify_source(location)
    name = feed_url = None
    if kind in ("folder", "file"):
        found, raws, failures = await asyncio.to_thread(_read_local, location, kind)
    elif kind == "git":
        read = await asyncio.to_thread(read_git, location, git_dir, None)
        found, raws, failures = len(read.posts), read.posts, list(read.failures)
    else:
        result = await src.fetch_url(location, client=client, rule=rule)
        found, raws, failures = len(result.posts), result.posts, list(result.failures)
        name, feed_url = result.name, result.feed_url
    shown = [dataclasses.replace(raw, tz=raw.tz or rule.zone) for raw in islice(raws, TITLES_SHOWN)]
    titles, bad = await asyncio.to_thread(_titles, shown, rule.zone)
    return Trial(kind, found, tuple(titles), tuple(failures + bad), name, feed_url)

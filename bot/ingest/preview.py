"""A trial read of a source before it is saved: how many posts it gives and their first titles.

Nothing is stored. The read goes through the same readers as ingest (with the same limits and
the same address guard) and parses a few posts to show their titles, off the event loop.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from datetime import tzinfo
from itertools import islice
from pathlib import Path

import httpx

from bot.ingest import sources as src
from bot.ingest.git_source import read_git
from bot.ingest.parser import ParseError, parse_post

TITLES_SHOWN = 5


@dataclass(frozen=True, slots=True)
class Trial:
    kind: str
    found: int
    titles: tuple[str, ...]
    failures: tuple[src.SourceFailure, ...]

    @property
    def usable(self) -> bool:
        return self.found > 0 and len(self.titles) > 0


def _titles(raws: list[src.RawPost], tz: tzinfo) -> tuple[list[str], list[src.SourceFailure]]:
    titles, failures = [], []
    for raw in raws:
        try:
            titles.append(parse_post(raw.text, raw.filename, tz=tz).title)
        except ParseError as exc:
            failures.append(src.SourceFailure(raw.origin, str(exc)))
    return titles, failures


def _read_local(location: str, kind: str) -> tuple[int, list[src.RawPost], list[src.SourceFailure]]:
    files = src.post_files(Path(location)) if kind == "folder" else [Path(location)]
    raws, failures = [], []
    for path in files:
        item = src.read_file(path)
        if isinstance(item, src.SourceFailure):
            failures.append(item)
        else:
            raws.append(item)
        if len(raws) >= TITLES_SHOWN:
            break
    return len(files), raws, failures


def _read_git_once(location: str) -> tuple[int, list[src.RawPost], list[src.SourceFailure]]:
    """A throwaway shallow clone: the real one is made by the first scheduled read."""
    with tempfile.TemporaryDirectory(prefix="newsbot-trial-") as scratch:
        read = read_git(location, Path(scratch), None)
    return len(read.posts), read.posts, read.failures


async def trial_read(location: str, *, tz: tzinfo, client: httpx.AsyncClient) -> Trial:
    """Read `location` once as ingest would, without storing or remembering anything."""
    kind = src.classify_source(location)
    if kind in ("folder", "file"):
        found, raws, failures = await asyncio.to_thread(_read_local, location, kind)
    elif kind == "git":
        found, raws, failures = await asyncio.to_thread(_read_git_once, location)
    else:
        result = await src.fetch_url(location, client=client)
        found, raws, failures = len(result.posts), result.posts, list(result.failures)
    titles, bad = await asyncio.to_thread(_titles, list(islice(raws, TITLES_SHOWN)), tz)
    return Trial(kind, found, tuple(titles), tuple(failures + bad))

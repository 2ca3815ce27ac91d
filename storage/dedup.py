"""Near-duplicate stories: the same news from two feeds gets one story id.

Each article gets a 64-bit fingerprint over the distinct character shingles of its title and
body (letters and digits only, so markup and punctuation differences do not count): one-bit
MinHash, the lowest bit of each of 64 minimum hashes. Two texts whose shingle sets
have Jaccard similarity J differ in about 64 × (1 − J) / 2 bits, so a copy with a changed word
or an added footer stays within a few bits while unrelated articles differ in about 32. (Plain
SimHash flips several bits for a two-character edit of a short news item.)

The fingerprint is stored signed in `articles.fingerprint`; two articles are the same story when
their fingerprints differ in at most `MAX_DISTANCE` bits. The fingerprint is cut into `BANDS`
bands of 16 bits kept in `article_bands`: fingerprints within `MAX_DISTANCE` < `BANDS` bits agree
on at least one band (pigeonhole), so candidates are found by equality on a band, not by a scan.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import and_, delete, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import column, table

from storage.models import Article
from storage.scan import article_batches
from storage.search import article_body
from storage.tokenizer import normalize

SHINGLE_CHARS = 4
BANDS = 4
BAND_BITS = 64 // BANDS
MAX_DISTANCE = 3
_NOT_WORD = re.compile(r"[\W_]+")
_MULTIPLIER = np.uint64(0x100000001B3)
_LOW_58_BITS = np.uint64((1 << 58) - 1)
_BIN_INDEX = np.arange(64)

article_bands = table("article_bands", column("band"), column("value"), column("article_id"))


def _mix(values: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """splitmix64's finaliser: spreads every input bit over all 64 output bits."""
    values = (values ^ (values >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    values = (values ^ (values >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return values ^ (values >> np.uint64(31))


def shingle_hashes(text: str) -> NDArray[np.uint64]:
    """Distinct 64-bit hashes of the `SHINGLE_CHARS`-character shingles of the text's words."""
    chars = _NOT_WORD.sub("", normalize(text))
    codes = np.frombuffer(chars.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    if codes.size == 0:
        return np.zeros(0, dtype=np.uint64)
    width = min(SHINGLE_CHARS, codes.size)
    count = codes.size - width + 1
    hashes = np.zeros(count, dtype=np.uint64)
    for offset in range(width):
        hashes = hashes * _MULTIPLIER + codes[offset : offset + count]
    return np.unique(hashes)


def fingerprint(text: str) -> int:
    """The unsigned 64-bit one-bit-MinHash fingerprint of `text` (0 for a text of no words).

    One permutation hashing: each shingle hash falls in one of 64 bins by its top 6 bits and
    each bin keeps its minimum; an empty bin borrows the next filled one's (densification).
    """
    hashes = _mix(shingle_hashes(text))
    if hashes.size == 0:
        return 0
    bins = (hashes >> np.uint64(58)).astype(np.intp)
    minima = np.full(64, np.iinfo(np.uint64).max, dtype=np.uint64)
    np.minimum.at(minima, bins, hashes & _LOW_58_BITS)
    filled = np.flatnonzero(minima != np.iinfo(np.uint64).max)
    source = filled[np.searchsorted(filled, _BIN_INDEX) % filled.size]
    bits = (_mix(minima[source] ^ _BIN_INDEX.astype(np.uint64)) & np.uint64(1)).astype(np.uint8)
    return int(np.packbits(bits, bitorder="little").view("<u8")[0])


def to_signed(fingerprint: int) -> int:
    return fingerprint - (1 << 64) if fingerprint >= 1 << 63 else fingerprint


def to_unsigned(fingerprint: int) -> int:
    return fingerprint & ((1 << 64) - 1)


def bands(fingerprint: int) -> list[int]:
    """The fingerprint's `BANDS` slices of `BAND_BITS` bits, lowest first."""
    mask = (1 << BAND_BITS) - 1
    return [(to_unsigned(fingerprint) >> (i * BAND_BITS)) & mask for i in range(BANDS)]


def distance(a: int, b: int) -> int:
    return (to_unsigned(a) ^ to_unsigned(b)).bit_count()


def article_fingerprint(article: Article) -> int:
    return to_signed(fingerprint(f"{article.title}\n{article_body(article)}"))


@dataclass(frozen=True, slots=True)
class _Fingerprinted:
    id: int
    story_id: int
    fingerprint: int


class _BandIndex:
    """Fingerprints in memory, looked up by band like `article_bands` in the store."""

    def __init__(self) -> None:
        self._by_band: dict[tuple[int, int], list[_Fingerprinted]] = defaultdict(list)

    def add(self, item: _Fingerprinted) -> None:
        for key in enumerate(bands(item.fingerprint)):
            self._by_band[key].append(item)

    def sharing_a_band(self, fingerprint: int) -> list[_Fingerprinted]:
        found = {}
        for key in enumerate(bands(fingerprint)):
            for item in self._by_band.get(key, ()):
                found[item.id] = item
        return list(found.values())


async def assign_stories(session: AsyncSession, articles: Sequence[Article]) -> None:
    """Fingerprint these (flushed) articles; a new one joins the story of its nearest twin.

    Only an article fingerprinted for the first time can join a story, so updating a post never
    moves it, nor the articles that joined its story.
    """
    if not articles:
        return
    first_seen = {a.id for a in articles if a.fingerprint is None}
    for article in articles:
        article.fingerprint = article_fingerprint(article)
    ids = [a.id for a in articles]
    if len(first_seen) < len(ids):
        await session.execute(delete(article_bands).where(article_bands.c.article_id.in_(ids)))
    known = _BandIndex()
    for stored in await _stored_neighbours(session, [a.fingerprint or 0 for a in articles], ids):
        known.add(stored)
    for article in sorted(articles, key=lambda a: a.id):
        fingerprint = article.fingerprint or 0
        if article.id in first_seen and article.story_id in (None, article.id):
            twin = _nearest(article.id, fingerprint, known.sharing_a_band(fingerprint))
            if twin is not None:
                article.story_id = twin
        known.add(_Fingerprinted(article.id, article.story_id or article.id, fingerprint))
    await session.execute(
        insert(article_bands),
        [
            {"band": band, "value": value, "article_id": a.id}
            for a in articles
            for band, value in enumerate(bands(a.fingerprint or 0))
        ],
    )


def _nearest(article_id: int, fingerprint: int, others: Sequence[_Fingerprinted]) -> int | None:
    """The story of the closest earlier article within `MAX_DISTANCE` bits, if any."""
    best: tuple[int, int] | None = None
    for other in others:
        if other.id >= article_id:
            continue
        gap = distance(fingerprint, other.fingerprint)
        if gap <= MAX_DISTANCE and (best is None or gap < best[0]):
            best = (gap, other.story_id)
    return best[1] if best else None


async def _stored_neighbours(
    session: AsyncSession, fingerprints: Sequence[int], exclude: Sequence[int]
) -> list[_Fingerprinted]:
    """Stored articles (but `exclude`) sharing a band with any of `fingerprints`."""
    values: list[set[int]] = [set() for _ in range(BANDS)]
    for fingerprint in fingerprints:
        for band, value in enumerate(bands(fingerprint)):
            values[band].add(value)
    matches = (
        select(article_bands.c.article_id)
        .where(
            or_(
                *(
                    and_(article_bands.c.band == band, article_bands.c.value.in_(sorted(wanted)))
                    for band, wanted in enumerate(values)
                )
            )
        )
        .where(article_bands.c.article_id.not_in(list(exclude)))
    )
    rows = await session.execute(
        select(Article.id, Article.story_id, Article.fingerprint).where(Article.id.in_(matches))
    )
    return [
        _Fingerprinted(id_, story_id or id_, fingerprint)
        for id_, story_id, fingerprint in rows
        if fingerprint is not None
    ]


async def rebuild_stories(session: AsyncSession, batch_size: int = 500) -> int:
    """Recompute every fingerprint and story from scratch, oldest article first."""
    await session.execute(delete(article_bands))
    done = 0
    async for batch in article_batches(session, batch_size):
        for article in batch:
            article.story_id, article.fingerprint = article.id, None
        await assign_stories(session, batch)
        await session.flush()
        done += len(batch)
    return done

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
Each band row carries the whole fingerprint, so the candidates are compared without reading
their articles (at a million articles a band value is shared by about 15 of them, and reading
those rows at random was most of an ingest's time).
"""

from __future__ import annotations

import re

import numpy as np
from numpy.typing import NDArray

from storage.tokenizer import normalize

SHINGLE_CHARS = 4
BANDS = 4
BAND_BITS = 64 // BANDS
MAX_DISTANCE = 3
_NOT_WORD = re.compile(r"[\W_]+")
_MULTIPLIER = np.uint64(0x100000001B3)
_LOW_58_BITS = np.uint64((1 << 58) - 1)
_BIN_INDEX = np.arange(64)

# each bin's first value (top 6 bits = the bin), as a sorted array of hashes is searched for it
_BIN_STARTS = _BIN_INDEX.astype(np.uint64) << np.uint64(58)
_BIN_VALUES = _BIN_INDEX.astype(np.uint64)


def _mix(values: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """splitmix64's finaliser: spreads every input bit over all 64 output bits."""
    mixed = values ^ (values >> np.uint64(30))
    mixed *= np.uint64(0xBF58476D1CE4E5B9)
    mixed ^= mixed >> np.uint64(27)
    mixed *= np.uint64(0x94D049BB133111EB)
    mixed ^= mixed >> np.uint64(31)
    return mixed


def _shingles(text: str) -> NDArray[np.uint64]:
    """The 64-bit hashes of the `SHINGLE_CHARS`-character shingles of the text's words, in text
    order, repeats kept."""
    chars = _NOT_WORD.sub("", normalize(text))
    codes = np.frombuffer(chars.encode("utf-32-le"), dtype=np.uint32)
    width = min(SHINGLE_CHARS, codes.size)
    count = codes.size - width + 1
    hashes = codes[:count].astype(np.uint64)
    for offset in range(1, width):
        hashes *= _MULTIPLIER
        hashes += codes[offset : offset + count]
    return hashes


def fingerprint(text: str) -> int:
    """The unsigned 64-bit one-bit-MinHash fingerprint of `text` (0 for a text of no words).

    One permutation hashing: each shingle hash falls in one of 64 bins by its top 6 bits and
    each bin keeps its minimum; an empty bin borrows the next filled one's (densification).
    Sorted, the hashes come bin by bin, so the first hash at or above a bin's start is the
    minimum of that bin or else of the next filled one; past the last filled bin, it is the
    first hash.
    """
    hashes = _mix(_shingles(text))
    if hashes.size == 0:
        return 0
    hashes.sort()
    minima = hashes[np.searchsorted(hashes, _BIN_STARTS) % hashes.size]
    minima &= _LOW_58_BITS
    minima ^= _BIN_VALUES
    bits = (_mix(minima) & np.uint64(1)).astype(np.uint8)
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

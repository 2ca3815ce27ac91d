"""PostgreSQL's `tsvector` of an index document, built here in its binary wire format.

An ingest's worker processes build each document, and the store copies it in as it is
(`storage.pg_bulk`), instead of the database server parsing the token text with
`setweight(to_tsvector('simple', title), 'A') || setweight(to_tsvector('simple', body), 'B')`.
The server is the one serial step of an ingest: on 5,000 synthetic posts that statement, fed
through a staging table, took 0.62-0.73 ms of server time a document against 0.13-0.16 ms to
copy the built vector in.

The vector is the one that statement makes of the same tokens (tests compare the two on the
server, over the corpus and the edge cases): each token a lexeme, at its place in the text (title
first, then body); no more than 255 places a lexeme in either part and 256 in all; places past
16,383 counted as 16,383, and none kept after it.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from functools import cache
from itertools import chain

MAX_POSITION = 16_383
"""The last place a `tsvector` records (`MAXENTRYPOS - 1`); later tokens all count as it."""
MAX_POSITIONS = 256
"""Places a lexeme keeps at most (`MAXNUMPOS`); `to_tsvector` keeps one fewer of one text."""
WEIGHT_A = 3 << 14
WEIGHT_B = 2 << 14
_POSITION_BITS = (1 << 14) - 1
_WEIGHTS = {3: "A", 2: "B", 1: "C", 0: ""}


def _places(tokens: Sequence[str], first: int, weight: int) -> dict[str, list[int]]:
    """Each token's places in a text whose first token is at `first`, with the weight's bits,
    as `to_tsvector` keeps them (and `||` moves them, for a text after another)."""
    found: dict[str, list[int]] = {}
    get = found.get
    if first + len(tokens) - 1 <= MAX_POSITION:  # the common case: no place to cap
        for place, token in enumerate(tokens, first | weight):
            kept = get(token)
            if kept is None:
                found[token] = [place]
            elif len(kept) < MAX_POSITIONS - 1:
                kept.append(place)
        return found
    for place, token in enumerate(tokens, first):
        place = min(place, MAX_POSITION) | weight
        kept = get(token)
        if kept is None:
            found[token] = [place]
        elif len(kept) < MAX_POSITIONS - 1 and kept[-1] != place:
            kept.append(place)
    return found


def document_vector(title: Sequence[str], body: Sequence[str]) -> bytes:
    """The `tsvector` of these title and body tokens (title weighted A, body B), in the binary
    format the server receives (`tsvectorrecv`): lexemes in byte order, each with its places."""
    places = _places(title, 1, WEIGHT_A)
    last = max((kept[-1] & _POSITION_BITS for kept in places.values()), default=0)
    for token, kept in _places(body, last + 1, WEIGHT_B).items():
        before = places.get(token)
        if before is None:
            places[token] = kept
        elif before[-1] & _POSITION_BITS != MAX_POSITION:
            before.extend(kept[: MAX_POSITIONS - len(before)])
    one = _one_place()
    lexemes = sorted(places)  # code point order is UTF-8's byte order
    tails = [
        one[kept[0]] if len(kept) == 1 else struct.pack(f"!xH{len(kept)}H", len(kept), *kept)
        for kept in map(places.__getitem__, lexemes)
    ]
    return struct.pack("!i", len(lexemes)) + b"".join(
        chain.from_iterable(zip(map(str.encode, lexemes), tails, strict=True))
    )


@cache
def _one_place() -> list[bytes]:
    """What follows a lexeme of one place, for every place and weight: most lexemes have one."""
    return [b"\0\0\1" + place.to_bytes(2, "big") for place in range(1 << 16)]


def vector_text(vector: bytes) -> str:
    """A binary `tsvector` as the server prints it (`'lexeme':1A,2B`)."""
    (count,) = struct.unpack_from("!i", vector)
    offset, lexemes = 4, []
    for _ in range(count):
        end = vector.index(b"\0", offset)
        lexeme = vector[offset:end].decode()
        (npos,) = struct.unpack_from("!H", vector, end + 1)
        places = struct.unpack_from(f"!{npos}H", vector, end + 3)
        offset = end + 3 + 2 * npos
        quoted = "'" + lexeme.replace("'", "''").replace("\\", "\\\\") + "'"
        if places:
            quoted += ":" + ",".join(f"{p & _POSITION_BITS}{_WEIGHTS[p >> 14]}" for p in places)
        lexemes.append(quoted)
    return " ".join(lexemes)

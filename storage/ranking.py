"""How well a candidate article answers a query: pure, computed in Python over the few hundred
candidates a search reads (see `storage.search`), so no score needs a count over the whole index.

Texts are compared as the index holds them: space-joined tokens (`storage.tokenizer`'s sequence:
each Han character, each letter/digit run, `BOUNDARY` for separators), and a query phrase
(央行 is "央 行") matches whole tokens in order. Positions count tokens::

    title(p) = 1/2 + 1/2 / (1 + position_in_title / TITLE_POSITION_TOKENS)     (0 if absent)
    body(p)  = 1/2 / (1 + first_position_in_body / LEAD_TOKENS)
             + 1/2 × tf / (tf + BODY_SATURATION × (1 - LENGTH_B + LENGTH_B × n / LENGTH_TOKENS))
    relevance = mean over phrases of (TITLE_WEIGHT × title(p) + body(p))

where n is the number of body tokens read. A body phrase is worth at most 1, a title phrase
at least TITLE_WEIGHT / 2 = 2: a full title match outranks any body-only match, even one
`1 + RECENCY_WEIGHT` times fresher. Within the title an earlier place counts; within the body
the lead counts as much as repetition, and length only damps the repetition half (`LENGTH_B`),
so a long article whose lead is about the query is not buried. Only the body's first
`SCORED_BODY_TOKENS` or so are read. The recency blend of `storage.search` multiplies this.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from storage.tokenizer import sequence_query

TITLE_WEIGHT = 4.0
TITLE_POSITION_TOKENS = 8.0
LEAD_TOKENS = 120.0
BODY_SATURATION = 1.2
LENGTH_B = 0.25
LENGTH_TOKENS = 1500.0
SCORED_BODY_TOKENS = 1500
"""About this many body tokens are scored: the lead is what matters, and reading whole long
articles for a few hundred candidates cost more than the search itself."""
SCORED_TITLE_CHARS = 300
"""No real headline is longer; scoring a hostile 50,000-character title would cost every
search that meets it as much as a hundred candidates do."""
RECENCY_WEIGHT = 0.5
RECENCY_HALF_LIFE_DAYS = 7.0


@lru_cache(maxsize=256)
def query_needles(query: str, max_phrases: int) -> tuple[str, ...]:
    """Each phrase of the query as it stands in space-joined token text, spaces around."""
    return tuple(f" {' '.join(phrase)} " for phrase in sequence_query(query)[:max_phrases])


@dataclass(frozen=True, slots=True)
class ScoredText:
    """A candidate's token text as `relevance` reads it, made once and kept with the text (see
    `storage.search`): padded with spaces so every phrase is found whole, with its body's
    length factor, which counting the body's tokens on every search cost a tenth of scoring."""

    title: str
    body: str
    length: float

    @classmethod
    def of(cls, title: str, body: str) -> ScoredText:
        """From space-joined token text."""
        body = f" {body} "
        tokens = body.count(" ") - 1
        return cls(f" {title} ", body, 1 - LENGTH_B + LENGTH_B * tokens / LENGTH_TOKENS)


def relevance(needles: Sequence[str], text: ScoredText) -> float:
    """See the module doc; 0 when no phrase is found (a bag match of scattered characters)."""
    if not needles:
        return 0.0
    title, body, length = text.title, text.body, text.length
    total = 0.0
    for needle in needles:
        found = title.find(needle)
        if found >= 0:
            place = title.count(" ", 0, found)
            total += TITLE_WEIGHT * (0.5 + 0.5 / (1 + place / TITLE_POSITION_TOKENS))
        first = body.find(needle)
        if first >= 0:
            tf = body.count(needle)
            place = body.count(" ", 0, first)
            total += 0.5 / (1 + place / LEAD_TOKENS)
            total += 0.5 * tf / (tf + BODY_SATURATION * length)
    return total / len(needles)


def recency(age_days: float) -> float:
    """The blend's factor: 1 + RECENCY_WEIGHT for the newest article, its excess halving every
    RECENCY_HALF_LIFE_DAYS of age."""
    return 1 + RECENCY_WEIGHT / (1 + max(age_days, 0.0) / RECENCY_HALF_LIFE_DAYS)

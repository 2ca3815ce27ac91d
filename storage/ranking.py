"""How well a candidate article answers a query: pure, computed in Python over the few hundred
candidates a search reads (see `storage.search`), so no score needs a count over the whole index.

Each query phrase (`storage.tokenizer.sequence_query`: 央行 is one phrase) is looked for in the
normalized title and body, with the index's rule that a letter/digit run matches whole::

    title(p) = 1/2 + 1/2 / (1 + position_in_title / TITLE_POSITION_CHARS)     (0 if absent)
    body(p)  = 1/2 / (1 + first_position_in_body / LEAD_CHARS)
             + 1/2 × tf / (tf + BODY_SATURATION × (1 - LENGTH_B + LENGTH_B × chars / LENGTH_CHARS))
    relevance = mean over phrases of (TITLE_WEIGHT × title(p) + body(p))

A body phrase is worth at most 1, a title phrase at least TITLE_WEIGHT / 2 = 2: a full title
match outranks any body-only match, even one `1 + RECENCY_WEIGHT` times fresher. Within the title
an earlier place counts; within the body the lead counts as much as repetition, and length only
damps the repetition half (`LENGTH_B`), so a long article whose lead is about the query is not
buried. The recency blend of `storage.search` multiplies this.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from storage.derive import MAX_INDEXED_BODY_CHARS
from storage.tokenizer import MAX_TOKEN_CHARS, normalize, sequence_query

TITLE_WEIGHT = 4.0
TITLE_POSITION_CHARS = 8.0
LEAD_CHARS = 120.0
BODY_SATURATION = 1.2
LENGTH_B = 0.25
LENGTH_CHARS = 1500.0
RECENCY_WEIGHT = 0.5
RECENCY_HALF_LIFE_DAYS = 7.0

_HAN_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_LETTER_DIGIT = r"[^\W_\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]"


def phrase_pattern(phrase: Sequence[str]) -> re.Pattern[str]:
    """The phrase in normalized text: its tokens adjacent; a letter/digit run at either end must
    not continue into more letters or digits (the index holds such a run as one token)."""
    first, last = phrase[0], phrase[-1]
    parts = [re.escape(token) for token in phrase]
    if not _HAN_CHAR.fullmatch(last) and len(last) >= MAX_TOKEN_CHARS:
        parts[-1] += f"{_LETTER_DIGIT}*"
    pattern = "".join(parts)
    if not _HAN_CHAR.fullmatch(first):
        pattern = f"(?<!{_LETTER_DIGIT})" + pattern
    if not _HAN_CHAR.fullmatch(last):
        pattern += f"(?!{_LETTER_DIGIT})"
    return re.compile(pattern)


@lru_cache(maxsize=256)
def query_patterns(query: str, max_phrases: int) -> tuple[re.Pattern[str], ...]:
    return tuple(phrase_pattern(p) for p in sequence_query(query)[:max_phrases])


def relevance(patterns: Sequence[re.Pattern[str]], title: str, body: str) -> float:
    """See the module doc; 0 when no phrase is found (a bag match of scattered characters)."""
    if not patterns:
        return 0.0
    title = normalize(title)
    body = normalize(body[:MAX_INDEXED_BODY_CHARS])
    length = 1 - LENGTH_B + LENGTH_B * len(body) / LENGTH_CHARS
    total = 0.0
    for pattern in patterns:
        found = pattern.search(title)
        if found:
            total += TITLE_WEIGHT * (0.5 + 0.5 / (1 + found.start() / TITLE_POSITION_CHARS))
        first = pattern.search(body)
        if first:
            tf = 1 + sum(1 for _ in pattern.finditer(body, first.end()))
            total += 0.5 / (1 + first.start() / LEAD_CHARS)
            total += 0.5 * tf / (tf + BODY_SATURATION * length)
    return total / len(patterns)


def recency(age_days: float) -> float:
    """The blend's factor: 1 + RECENCY_WEIGHT for the newest article, its excess halving every
    RECENCY_HALF_LIFE_DAYS of age."""
    return 1 + RECENCY_WEIGHT / (1 + max(age_days, 0.0) / RECENCY_HALF_LIFE_DAYS)

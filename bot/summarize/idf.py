"""Inverse document frequencies learned from our own store, for the summarizer's keyword weight.

jieba's bundled table describes general Chinese; the store knows which words are common in
*this* news (公司, 市场, 记者 …) and which are distinctive. Below `MIN_DOCUMENTS` the store is
too small to say, and the summarizer keeps jieba's table.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

from bot.summarize.summarizer import content_terms

MIN_DOCUMENTS = 500


def idf_from_documents(documents: Iterable[str]) -> dict[str, float] | None:
    """Smoothed idf, `ln((N + 1) / (df + 1)) + 1`, over the content terms of each document."""
    frequencies: Counter[str] = Counter()
    count = 0
    for document in documents:
        frequencies.update(set(content_terms(document)))
        count += 1
    if count < MIN_DOCUMENTS:
        return None
    return {term: math.log((count + 1) / (df + 1)) + 1.0 for term, df in frequencies.items()}

"""Query-biased snippets for search results: the sentences that hold the query's terms, with
the matches marked for bold rendering, or the generic summary when nothing matches."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import jieba

from bot.summarize.summarizer import ELLIPSIS, article_sentences, cut_at_clause, summarize
from storage.tokenizer import tokenize_query

CLAUSE_STARTS = frozenset("，；：、,;:。！？!?")
LEADING_CONTEXT_CHARS = 12


@dataclass(frozen=True, slots=True)
class Snippet:
    """Snippet text and the (start, end) character offsets of query matches in it."""

    text: str
    spans: tuple[tuple[int, int], ...] = ()


def snippet(
    title: str,
    paragraphs: Sequence[str],
    query: str,
    *,
    max_chars: int = 160,
    fallback: str | None = None,
) -> Snippet:
    """The best-matching sentences in article order within `max_chars`, matches marked; else
    `fallback` (or the generic summary) with no spans."""
    pattern = query_pattern(query)
    sentences = _sentences(tuple(paragraphs))
    matched = []
    for index, sentence in enumerate(sentences if pattern else ()):
        assert pattern is not None
        found = {m.group().lower() for m in pattern.finditer(sentence)}
        if found:
            whole_query = len(query) if query.strip().lower() in sentence.lower() else 0
            matched.append((sum(len(term) for term in found) + whole_query, index))
    if not matched or pattern is None:
        if fallback is None:
            fallback = summarize(title, paragraphs, max_chars=max_chars)
        return Snippet(fallback)
    matched.sort(key=lambda item: (-item[0], item[1]))
    best = matched[0][1]
    if len(sentences[best]) > max_chars:
        text = _window_around_match(sentences[best], pattern, max_chars)
    else:
        chosen = [best]
        used = len(sentences[best])
        for _, index in matched[1:]:
            if used + len(sentences[index]) + 1 <= max_chars:
                chosen.append(index)
                used += len(sentences[index]) + 1
        text = _join_in_order(sentences, sorted(chosen), max_chars)
    return Snippet(text, match_spans(text, pattern))


@lru_cache(maxsize=512)
def _sentences(paragraphs: tuple[str, ...]) -> tuple[str, ...]:
    """The body's sentences (its subheadings too when it has nothing else), kept per body: a
    page of hits is mostly the articles of the page before, and splitting their bodies again
    was an eighth of a search reply's CPU, on the event loop."""
    return tuple(
        article_sentences(paragraphs) or article_sentences(paragraphs, keep_subheadings=True)
    )


@lru_cache(maxsize=512)
def query_pattern(query: str) -> re.Pattern[str] | None:
    """One case-insensitive pattern for the query: the search index's query terms, jieba's
    search-mode words, the query's space-separated parts and the whole query, longest first.
    Single characters only count when the query has nothing longer (`A股` must not mark every
    `a` of `Faraday`). Kept per query: every hit of a page, and the next page, use it again,
    and segmenting it is most of a snippet's cost on the event loop."""
    query = query.strip()
    if not query:
        return None
    terms = set(tokenize_query(query))
    terms.update(jieba.lcut_for_search(query))
    terms.update(query.split())
    terms.add(query)
    terms = {term.strip() for term in terms if term.strip()}
    longer = {term for term in terms if len(term) > 1}
    alternatives = sorted(longer or terms, key=lambda term: (-len(term), term))
    return re.compile("|".join(re.escape(term) for term in alternatives), re.IGNORECASE)


def match_spans(text: str, pattern: re.Pattern[str]) -> tuple[tuple[int, int], ...]:
    """Offsets of the matches in `text`, touching or overlapping ones merged."""
    spans: list[tuple[int, int]] = []
    for match in pattern.finditer(text):
        start, end = match.span()
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
        else:
            spans.append((start, end))
    return tuple(spans)


def _window_around_match(sentence: str, pattern: re.Pattern[str], max_chars: int) -> str:
    """A stretch of an over-long sentence that shows its first match, cut at clause marks."""
    first = pattern.search(sentence)
    if first is None or first.end() <= max_chars - 1 or max_chars < 3:
        return cut_at_clause(sentence, max_chars)
    floor = max(0, first.start() - LEADING_CONTEXT_CHARS)
    start = next(
        (i + 1 for i in range(first.start() - 1, floor - 1, -1) if sentence[i] in CLAUSE_STARTS),
        floor,
    )
    return ELLIPSIS + cut_at_clause(sentence[start:], max_chars - 1)


def _join_in_order(sentences: Sequence[str], indexes: Sequence[int], max_chars: int) -> str:
    text = ""
    previous = None
    for index in indexes:
        gap = "" if previous is None or index == previous + 1 else ELLIPSIS
        if text.endswith(ELLIPSIS):
            gap = ""
        candidate = text + gap + sentences[index]
        if len(candidate) > max_chars:
            break
        text, previous = candidate, index
    return text

"""The generic extractive summary: the best lead-region sentences, in article order, in a budget.

News is lead-heavy, so only the opening stretch of the cleaned article is ranked (which also
keeps jieba's share of the time small); each sentence there is scored by its position, its
idf-weighted overlap with the title, and its centrality (how much of its idf-weighted vocabulary
the rest of the article repeats). Sentences are then taken greedily, skipping near-duplicates.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import jieba

from bot.summarize.bulletin import bulletin_items, named_item
from bot.summarize.clean import clean_sentence, is_subheading
from bot.summarize.flash import adds_to_title
from bot.summarize.splitter import iter_sentences

SUMMARIZER_VERSION = 3

ELLIPSIS = "…"
CLAUSE_MARKS = frozenset("，；：、,;:")
SENTENCE_ENDS = frozenset("。！？!?…")
JOIN_AFTER = frozenset("。！？!?；…”’」』）)】》")
UNBALANCED_TAIL = "“‘「『（(【《〈"

# Ranking constants, tuned on ../shared/data/summ-dev.jsonl only.
WINDOW_BUDGETS = 2.0
WINDOW_MIN_SENTENCES = 3
POSITION_WEIGHT = 1.0
CENTRALITY_WEIGHT = 1.0
TITLE_WEIGHT = 0.6
SHORT_SENTENCE_CHARS = 12
MAX_OVERLAP = 0.5
MIN_RELATIVE_SCORE = 0.6
TERM_FREQUENCY_CAP = 4
# A summary ending on a clause mark runs on to a sentence end only while under this share of
# its budget (a lone list item); longer ones close with `…` (running on cost ROUGE on dev).
RUN_ON_BELOW = 0.5


@dataclass(frozen=True, slots=True)
class _Scored:
    index: int
    text: str
    terms: frozenset[str]
    score: float


def summarize(
    title: str,
    paragraphs: Sequence[str],
    *,
    max_chars: int = 120,
    digest: str | None = None,
    idf: Mapping[str, float] | None = None,
) -> str:
    """The summary of an article in at most `max_chars` characters; the publisher's digest,
    when given, is the summary (cleaned and fitted to the budget). Empty for a flash, whose
    body says nothing beyond its title; a bulletin's is the item its title names. It never
    ends inside a sentence on `，` or `；`: it runs on to a sentence end or closes with `…`."""
    if max_chars <= 0:
        raise ValueError("max_chars must be positive")
    if not adds_to_title(title, "\n".join([digest or "", *paragraphs])):
        return ""
    if digest and (digest_sentences := article_sentences([digest], keep_subheadings=True)):
        return close(fit_in_order(digest_sentences, max_chars))
    if items := bulletin_items(title, paragraphs):
        return bulletin_summary(title, items, max_chars)
    window = lead_window(iter_article_sentences(paragraphs), max_chars) or lead_window(
        iter_article_sentences(paragraphs, keep_subheadings=True), max_chars
    )
    if not window:
        return close(cut_at_clause(clean_sentence(title), max_chars))
    chosen = choose_sentences(title, window, "\n".join(paragraphs), max_chars, idf)
    return run_on(chosen, window, max_chars)


def bulletin_summary(title: str, items: Sequence[str], max_chars: int) -> str:
    """The item the title names as a sentence, else the first items that fit, closed by `…`."""
    place = named_item(title, items)
    if place is not None:
        item = items[place]
        if item[-1] not in SENTENCE_ENDS:
            item += "。"
        return close(cut_at_clause(item, max_chars))
    return close(fit_in_order([f"{item}；" for item in items], max_chars))


def run_on(chosen: Sequence[str], window: Sequence[str], max_chars: int) -> str:
    """The chosen sentences joined; when the last ends on a clause mark (a list item ending in
    `；`) and the summary is short, the window's next sentences follow while they fit, up to a
    sentence end; else, or if none comes, it closes with `…`."""
    text = assemble(chosen, max_chars)
    if not text or text[-1] not in CLAUSE_MARKS:
        return text
    following = window[window.index(chosen[-1]) + 1 :] if chosen[-1] in window else []
    if len(text) >= RUN_ON_BELOW * max_chars:
        following = []
    for sentence in following:
        joined = _join(text, sentence)
        if len(joined) > max_chars:
            break
        text = joined
        if text[-1] not in CLAUSE_MARKS:
            return text
    return close(text)


def close(text: str) -> str:
    """`text` with a trailing clause mark replaced by `…` (no longer than it was)."""
    if not text or text[-1] not in CLAUSE_MARKS:
        return text
    return text.rstrip("".join(CLAUSE_MARKS) + " ").rstrip(UNBALANCED_TAIL + " ") + ELLIPSIS


def article_sentences(paragraphs: Iterable[str], *, keep_subheadings: bool = False) -> list[str]:
    """The cleaned sentences of the article body, subheadings and furniture left out."""
    return list(iter_article_sentences(paragraphs, keep_subheadings=keep_subheadings))


def iter_article_sentences(
    paragraphs: Iterable[str], *, keep_subheadings: bool = False
) -> Iterator[str]:
    """The cleaned sentences one by one, so the lead window stops the work early."""
    for paragraph in paragraphs:
        if not keep_subheadings and is_subheading(paragraph):
            continue
        for sentence in iter_sentences(paragraph):
            cleaned = clean_sentence(sentence)
            if cleaned:
                yield cleaned


def lead_window(sentences: Iterable[str], max_chars: int) -> list[str]:
    """The opening sentences that are worth ranking: about WINDOW_BUDGETS budgets of text, and
    at least WINDOW_MIN_SENTENCES sentences; the rest of the article is never split or cleaned."""
    window: list[str] = []
    used = 0
    for sentence in sentences:
        if used > WINDOW_BUDGETS * max_chars and len(window) >= WINDOW_MIN_SENTENCES:
            break
        window.append(sentence)
        used += len(sentence)
    return window


def choose_sentences(
    title: str,
    window: Sequence[str],
    article: str,
    max_chars: int,
    idf: Mapping[str, float] | None,
) -> list[str]:
    """The chosen sentences in article order; a lone over-long choice is returned whole.
    `article` is the whole text, where the window's words are counted for centrality."""
    ranked = sorted(_score_window(title, window, article, idf), key=lambda s: (-s.score, s.index))
    best = ranked[0]
    if len(best.text) > max_chars:
        return [best.text]
    chosen = [best]
    for candidate in ranked[1:]:
        if candidate.score < MIN_RELATIVE_SCORE * best.score:
            break
        if any(_overlap(candidate.terms, c.terms) > MAX_OVERLAP for c in chosen):
            continue
        if len(_join_all(_in_order([*chosen, candidate]))) <= max_chars:
            chosen.append(candidate)
    return _in_order(chosen)


def assemble(sentences: Sequence[str], max_chars: int) -> str:
    """Join whole sentences; a single sentence over the budget is cut at a clause boundary."""
    if len(sentences) == 1:
        return cut_at_clause(sentences[0], max_chars)
    return _join_all(sentences)


def fit_in_order(sentences: Sequence[str], max_chars: int) -> str:
    """Leading sentences while they fit; the first one cut at a clause boundary if it alone
    is too long."""
    if not sentences:
        return ""
    text = cut_at_clause(sentences[0], max_chars)
    for sentence in sentences[1:]:
        joined = _join(text, sentence)
        if len(joined) > max_chars:
            break
        text = joined
    return text


def cut_at_clause(sentence: str, max_chars: int) -> str:
    """The sentence if it fits; else its longest clause-boundary prefix plus `…` (the ellipsis
    counts), or a hard cut when no boundary leaves a useful prefix."""
    if len(sentence) <= max_chars:
        return sentence
    if max_chars <= 1:
        return ELLIPSIS[:max_chars]
    limit = max_chars - 1
    boundary = max((i for i in range(1, limit + 1) if sentence[i] in CLAUSE_MARKS), default=0)
    prefix = sentence[:boundary] if boundary >= limit // 3 else sentence[:limit]
    return prefix.rstrip(UNBALANCED_TAIL + " ") + ELLIPSIS


def _score_window(
    title: str, window: Sequence[str], article: str, idf: Mapping[str, float] | None
) -> list[_Scored]:
    title_terms = set(content_terms(title))
    terms_of = [frozenset(content_terms(s)) for s in window]
    window_terms = set().union(*terms_of)
    weights = _idf_weights(idf, window_terms | title_terms)
    in_article = {term: article.count(term) for term in window_terms}
    title_mass = sum(weights[t] for t in title_terms)
    centrality = []
    for sentence, terms in zip(window, terms_of, strict=True):
        support = 0.0
        norm = 0.0
        for term in terms:
            weight = weights[term]
            elsewhere = max(0, in_article[term] - sentence.count(term))
            support += weight * weight * min(elsewhere, TERM_FREQUENCY_CAP)
            norm += weight * weight
        centrality.append(support / math.sqrt(norm) if norm else 0.0)
    top_centrality = max(centrality) or 1.0
    scored = []
    for index, (sentence, terms) in enumerate(zip(window, terms_of, strict=True)):
        title_similarity = (
            sum(weights[t] for t in terms & title_terms) / title_mass if title_mass else 0.0
        )
        score = (
            POSITION_WEIGHT / (1 + index)
            + CENTRALITY_WEIGHT * centrality[index] / top_centrality
            + TITLE_WEIGHT * title_similarity
        )
        score *= min(1.0, len(sentence) / SHORT_SENTENCE_CHARS)
        scored.append(_Scored(index, sentence, terms, score))
    return scored


@functools.cache
def word_segmenter() -> Callable[[str], list[str]]:
    """jieba's precise mode without HMM: rjieba (jieba-rs: the same dictionary and, tested over
    the corpus and the dev set, the same words, about 15× faster) when installed, else jieba."""
    try:
        import rjieba  # type: ignore[import-not-found]
    except ImportError:
        return functools.partial(jieba.lcut, HMM=False)
    return lambda text: list(rjieba.cut(text, False))


def content_terms(text: str) -> list[str]:
    """Content words: jieba tokens of two or more letters or characters, not bare numbers."""
    return [
        word
        for word in word_segmenter()(text)
        if len(word) > 1 and word.isalnum() and not word.isdigit()
    ]


def _idf_weights(idf: Mapping[str, float] | None, terms: set[str]) -> dict[str, float]:
    """Idf of each term: from the store when given, an unseen word counting as the rarest of
    the article's known words; else from jieba's bundled table, unseen words at its median."""
    if idf is None:
        table, median = jieba_idf()
        return {term: table.get(term, median) for term in terms}
    known = {term: idf[term] for term in terms if term in idf}
    rarest = max(known.values(), default=1.0)
    return {term: known.get(term, rarest) for term in terms}


@functools.cache
def jieba_idf() -> tuple[Mapping[str, float], float]:
    """jieba's bundled idf table and its median, loaded once (callers may preload it), read as
    `jieba.analyse` reads it without importing it: its part-of-speech tables took 0.8 s of
    every ingest worker's start."""
    table = {}
    content = (Path(jieba.__file__).parent / "analyse" / "idf.txt").read_bytes().decode("utf-8")
    for line in content.splitlines():
        word, freq = line.strip().split(" ")
        table[word] = float(freq)
    return table, sorted(table.values())[len(table) // 2]


def _overlap(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0


def _in_order(scored: Iterable[_Scored]) -> list[str]:
    return [s.text for s in sorted(scored, key=lambda s: s.index)]


def _join_all(sentences: Iterable[str]) -> str:
    return functools.reduce(_join, sentences, "")


def _join(text: str, sentence: str) -> str:
    if not text:
        return sentence
    return text + sentence if text[-1] in JOIN_AFTER else f"{text} {sentence}"

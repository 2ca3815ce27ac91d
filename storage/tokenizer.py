"""The one tokenizer of the search index, for documents and queries alike.

Text is NFKC-normalised (full-width letters and digits become ASCII) and lower-cased, then cut
into runs of Han characters and runs of other letters and digits; everything else (punctuation,
spaces, symbols) separates runs and is dropped.

A document yields, in no particular order (the index counts tokens, it does not place them):
- every Han character and every pair of adjacent Han characters (bigram) of a Han run, so any
  1- or 2-character word and any name jieba does not know can be found;
- the jieba `cut_for_search` words of three or more Han characters (whole words such as
  中国人民银行); shorter ones are already there as characters and bigrams;
- each letter/digit run whole (`600519`, `5g`, `iphone`), cut at `MAX_TOKEN_CHARS`;
- a letter/digit run glued to the Han character it touches (`a股`, `证500`), so `A股` is
  not just "a" somewhere and 股 somewhere.

A query yields only the tokens every document containing the query text is sure to have:
bigrams of its Han runs (the character itself for a 1-character run), the letter/digit runs and
the glued tokens. jieba's longer words are left out of queries on purpose: jieba cuts a word
differently depending on its neighbours, so a query word might not be a document word.

That bag of tokens, less what no query needs (`tokenize_lean_document`: the characters that
start a bigram, found by the prefix match `字:*`, and jieba's words), is what PostgreSQL indexes
(`BAG`): a `tsvector` answers an AND of lexemes from its GIN index alone, while a phrase would
make it re-read every candidate's document.
SQLite's FTS5 reads token positions as cheaply as it reads tokens, so there the index holds the
text itself as a sequence (`SEQUENCE`, see `tokenize_sequence`): every Han character and every
letter/digit run in text order, with `BOUNDARY` wherever anything else separated them, and a
query is a phrase per stretch of text: 央行 is the phrase "央 行", `A股` the phrase "a 股".
That finds exactly what the bag finds and more precisely (the characters must be adjacent, in
order), from a third as many distinct tokens per document, which FTS5 writes three times as
fast; the price is that a rare phrase of common characters reads more of the index.
"""

from __future__ import annotations

import logging
import operator
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np

TOKENIZER_NAME = "jieba-han-bigram"
TOKENIZER_VERSION = "2"
MAX_TOKEN_CHARS = 64

_HAN_BLOCKS = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3134F))
_HAN = "".join(f"{chr(first)}-{chr(last)}" for first, last in _HAN_BLOCKS)
_RUN = re.compile(rf"(?P<han>[{_HAN}]+)|(?P<word>[^\W_{_HAN}]+)")
_NOT_WORD = re.compile(r"[\W_]+")
_HAN_ONLY = re.compile(rf"[{_HAN}]+")
_HAS_WORD_CHAR = re.compile(r"[^\W_]")

# tokenize_document makes the tokens of the whole text at once rather than run by run: the Han
# characters and bigrams with numpy, the letter/digit runs and their glued tokens with one regex
# pass. There a Han character is any code point of the Han blocks (by then all are letters, see
# _HAN_GAP) and a letter/digit `_W` any other word character but "_".
_NUMPY_FROM_CHARS = 100  # below that, numpy's overhead makes plain Python faster
_HAN_BOUNDS = np.array([b for first, last in _HAN_BLOCKS for b in (first, last + 1)], np.uint32)
_W = rf"[^{_HAN}\W_]"
_LONG_HAN = re.compile(rf"[{_HAN}]{{3}}")
# each letter/digit run as (its first character, the Han character before it or "", the rest of
# it up to MAX_TOKEN_CHARS, the Han character after it or ""); starting with a character set
# lets the regex engine skip to the next run
_LETTER_DIGIT_RUN = re.compile(
    rf"({_W})(?:(?<=([{_HAN}]){_W})|)({_W}{{0,{MAX_TOKEN_CHARS - 1}}}+){_W}*+(?=([{_HAN}])|)"
)
# a code point of the Han blocks that is no letter (one not assigned yet): neither a word
# character nor a code point outside the blocks
_HAN_GAP = re.compile(
    "[^\\w"
    + "".join(
        f"{chr(after + 1)}-{chr(before - 1)}"
        for after, before in zip(
            (-1, *(last for _, last in _HAN_BLOCKS)),
            (*(first for first, _ in _HAN_BLOCKS), 0x110000),
            strict=True,
        )
    )
    + "]"
)

# NFKC only depends on the NFKD of the text, so replacing characters by their NFKD first changes
# nothing; done with str.replace for the few full-width forms Chinese text is full of, then the
# other full-width forms, it rarely leaves anything to `unicodedata.normalize`, which is slow.
_COMMON_FULL_WIDTH = tuple(
    (form, unicodedata.normalize("NFKD", form))
    for form in "，（）：；．％？！…" + "０１２３４５６７８９"
)
_FULL_WIDTH = re.compile("[\uff01-\uff5e\u3000]+")
_FULL_WIDTH_TO_NFKD = {
    code: unicodedata.normalize("NFKD", chr(code)) for code in (*range(0xFF01, 0xFF5F), 0x3000)
}


@dataclass(frozen=True, slots=True)
class _Run:
    text: str
    han: bool
    start: int
    end: int


@cache
def _jieba() -> Any:
    """Load jieba's dictionary once, quietly."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


@cache
def search_segmenter() -> Callable[[str], list[str]]:
    """jieba's `cut_for_search` without HMM: rjieba (jieba-rs, same dictionary, same words,
    an order of magnitude faster) when it is installed, else jieba itself."""
    try:
        import rjieba  # type: ignore[import-not-found]
    except ImportError:
        return lambda text: list(_jieba().cut_for_search(text, HMM=False))
    return lambda text: list(rjieba.cut_for_search(text, False))


def normalize(text: str) -> str:
    """NFKC, lower-cased."""
    if not unicodedata.is_normalized("NFKC", text):
        for form, nfkd in _COMMON_FULL_WIDTH:
            text = text.replace(form, nfkd)
        if not unicodedata.is_normalized("NFKC", text):
            text = _FULL_WIDTH.sub(lambda m: m.group().translate(_FULL_WIDTH_TO_NFKD), text)
            if not unicodedata.is_normalized("NFKC", text):
                text = unicodedata.normalize("NFKC", text)
    return text.lower()


def _runs(text: str) -> list[_Run]:
    runs = []
    for match in _RUN.finditer(text):
        run, start = match.group(), match.start()
        if run.isalnum():
            runs.append(_Run(run, match.lastgroup == "han", start, match.end()))
            continue
        # unassigned code points inside the Han blocks are not letters: they split the run
        for piece in _NOT_WORD.split(run):
            if piece:
                offset = start + run.index(piece)
                runs.append(_Run(piece, True, offset, offset + len(piece)))
    return runs


def _glued(runs: list[_Run]) -> Iterator[tuple[int, str]]:
    """A letter/digit run with the Han character it touches, keyed by position in `runs`."""
    for i in range(len(runs) - 1):
        left, right = runs[i], runs[i + 1]
        if left.end != right.start:
            continue
        if left.han:
            yield i, left.text[-1] + right.text[:MAX_TOKEN_CHARS]
        else:
            yield i, left.text[:MAX_TOKEN_CHARS] + right.text[0]


def _bigrams(run: str) -> Iterator[str]:
    return map(operator.add, run, run[1:])


def _han_tokens(text: str) -> list[str]:
    """Every Han character of the text and every pair of adjacent ones."""
    if len(text) < _NUMPY_FROM_CHARS:
        runs = _HAN_ONLY.findall(text)
        tokens = list("".join(runs))
        for run in runs:
            tokens += _bigrams(run)
        return tokens
    codes, han = _han_codes(text)
    return list(codes[han].tobytes().decode("utf-32-le")) + _han_bigrams(codes, han)


def _han_codes(text: str) -> tuple[Any, Any]:
    """The text's code points, and which of them are Han characters."""
    codes = np.frombuffer(text.encode("utf-32-le"), np.uint32)
    return codes, (np.searchsorted(_HAN_BOUNDS, codes, side="right") & 1).astype(bool)


def _han_bigrams(codes: Any, han: Any) -> list[str]:
    """Every pair of adjacent Han characters, in order."""
    pairs = han[:-1] & han[1:]
    firsts = codes[:-1][pairs]
    if not firsts.size:
        return []
    bigrams = np.empty((firsts.size, 2), np.uint32)
    bigrams[:, 0] = firsts
    bigrams[:, 1] = codes[1:][pairs]
    return list(bigrams.view("<U2").ravel().tolist())


def _lean_han_tokens(text: str) -> list[str]:
    """`_han_tokens` without the characters a bigram starts: every pair of adjacent Han
    characters, and the last character of each Han run."""
    if len(text) < _NUMPY_FROM_CHARS:
        tokens: list[str] = []
        for run in _HAN_ONLY.findall(text):
            tokens.append(run[-1])
            tokens += _bigrams(run)
        return tokens
    codes, han = _han_codes(text)
    last = han.copy()
    last[:-1] &= ~han[1:]
    return list(codes[last].tobytes().decode("utf-32-le")) + _han_bigrams(codes, han)


def tokenize_lean_document(text: str) -> list[str]:
    """A document as PostgreSQL indexes it (`BAG` version 2): `tokenize_document`'s tokens
    but only those a query can ask for. A character that starts a bigram is left out (a
    one-character query is the prefix match `字:*`, which finds it in that bigram), and so are
    jieba's words (no query has them). The text finds the same queries, from a third fewer
    distinct lexemes, which are most of the index's write cost."""
    return tokenize_document(text, lean=True)


def is_prefix_term(term: str) -> bool:
    """A query term `tokenize_lean_document` may hold only as the start of longer tokens:
    a single Han character."""
    return len(term) == 1 and _HAN_ONLY.match(term) is not None


def tokenize_document(text: str, *, lean: bool = False) -> list[str]:
    """All index tokens of a text, repeats kept (they count for ranking), in no set order.
    `lean`: see `tokenize_lean_document`."""
    text = normalize(text)
    # an unassigned code point splits a Han run like any separator (it becomes a space here)
    quirk = _HAN_GAP.search(text) is not None
    words = _NOT_WORD.sub(" ", text) if quirk else text
    tokens = _lean_han_tokens(words) if lean else _han_tokens(words)
    glued: list[str] = []
    for first, before, rest, after in _LETTER_DIGIT_RUN.findall(words):
        run = first + rest
        tokens.append(run)
        if before:
            glued.append(before + run)
        if after:
            glued.append(run + after)
    if quirk:
        # but `_runs` places each piece of such a split run where its text first occurs in the
        # run, which the glued tokens depend on: keep the ones documents were indexed with
        glued = [token for _, token in _glued(_runs(text))]
    tokens += glued
    if not lean and _LONG_HAN.search(words):
        tokens += _long_words(text)
    return tokens


def _long_words(text: str) -> list[str]:
    """jieba's `cut_for_search` words of three or more Han characters of normalized text."""
    return [w for w in search_segmenter()(text) if len(w) >= 3 and _HAN_ONLY.fullmatch(w)]


def tokenize_query(text: str) -> list[str]:
    """The distinct terms a matching document must all contain (they are AND-ed)."""
    runs = _runs(normalize(text))
    glued = dict(_glued(runs))
    terms: list[str] = []
    for i, run in enumerate(runs):
        if not run.han:
            terms.append(run.text[:MAX_TOKEN_CHARS])
        elif len(run.text) == 1:
            terms.append(run.text)
        else:
            terms.extend(_bigrams(run.text))
        if i in glued:
            terms.append(glued[i])
    return list(dict.fromkeys(terms))


def segment_words(text: str) -> list[str]:
    """jieba's precise-mode words (with its HMM for unknown names), for trending terms."""
    return [word for word in hmm_segmenter()(normalize(text)) if _RUN.fullmatch(word)]


@cache
def hmm_segmenter() -> Callable[[str], list[str]]:
    """jieba's precise mode with HMM: rjieba when installed (about 7× faster, and the words of
    ingest's hottest segmentation after the summary's), else jieba. The two differ only on a
    run of letters and digits with punctuation inside (`14.4kbps`, a URL), which rjieba keeps
    whole; such a piece is cut again by jieba, so every word `segment_words` keeps is jieba's
    (tested over the synthetic corpus, the dev set and the 1998 People's Daily text)."""
    try:
        import rjieba
    except ImportError:
        return lambda text: list(_jieba().cut(text))

    def cut(text: str) -> list[str]:
        words: list[str] = []
        for word in rjieba.cut(text, True):
            if _RUN.fullmatch(word) or not _HAS_WORD_CHAR.search(word):
                words.append(word)
            else:
                words += _jieba().cut(word)
        return words

    return cut


# Stands where a separator was: no text yields it (it is neither Han nor a letter or digit), so no
# query phrase spans two runs that did not touch.
BOUNDARY = "\ue000"
_LETTER_DIGIT_RUNS = re.compile(rf"({_W}+)")


def _sequence(text: str) -> list[str]:
    """Tokens of normalized text in order, `BOUNDARY` for each stretch of separators (an
    unassigned code point of the Han blocks is one); between letter/digit runs lie only Han
    characters and boundaries, one token each, so no regex match per character is needed."""
    parts = _LETTER_DIGIT_RUNS.split(_NOT_WORD.sub(BOUNDARY, text))
    tokens = list(parts[0])
    for run, between in zip(parts[1::2], parts[2::2], strict=True):
        tokens += (run[:MAX_TOKEN_CHARS], *between)
    return tokens


def tokenize_sequence(text: str) -> list[str]:
    """A text as the FTS5 index holds it: its Han characters and letter/digit runs in order,
    `BOUNDARY` where anything else stood, then jieba's words of three or more characters."""
    text = normalize(text)
    tokens = _sequence(text)
    words = _long_words(text) if _LONG_HAN.search(text) else []
    return [*tokens, BOUNDARY, *words] if words else tokens


def sequence_query(text: str) -> list[tuple[str, ...]]:
    """The distinct phrases of a query: each stretch of Han characters and letter/digit runs
    that touch one another (the phrases are AND-ed)."""
    phrases: list[tuple[str, ...]] = []
    phrase: list[str] = []
    for token in (*_sequence(normalize(text)), BOUNDARY):
        if token != BOUNDARY:
            phrase.append(token)
        elif phrase:
            phrases.append(tuple(phrase))
            phrase = []
    return list(dict.fromkeys(phrases))


def bag_query(text: str) -> list[tuple[str, ...]]:
    """`tokenize_query`'s terms, each a phrase of one token, without a lone Han character that
    another term holds (`A股` is `a` and `a股`): `tokenize_lean_document` keeps every Han
    character of a text in the pair it starts or, last in its run, alone, so a text holding
    that term matches the character's prefix (`'股':*`), whose lookup reads the index entries
    of every pair it starts in the store (at 1M posts `A股`'s newest 148 matches in 38k ids:
    19-22 ms with it, 5 ms without)."""
    terms = tokenize_query(text)
    whole = [term for term in terms if not is_prefix_term(term)]
    return [
        (term,)
        for term in terms
        if not (is_prefix_term(term) and any(term in other for other in whole))
    ]


@dataclass(frozen=True, slots=True)
class IndexScheme:
    """How an index holds a text, and how a query is cut to match it. Its `id` is stored with
    the index: a store indexed under another one must be reindexed."""

    name: str
    version: str
    document: Callable[[str], list[str]] = field(repr=False)
    query: Callable[[str], list[tuple[str, ...]]] = field(repr=False)

    @property
    def id(self) -> str:
        return f"{self.name} {self.version}"


BAG = IndexScheme(TOKENIZER_NAME, TOKENIZER_VERSION, tokenize_lean_document, bag_query)
"""Version 1 documents were `tokenize_document`'s: every token of version 2 and more, so
version 2's queries find the same documents in them (migration 0010)."""
SEQUENCE = IndexScheme("jieba-han-sequence", "1", tokenize_sequence, sequence_query)


def sequence_text(text: str) -> str:
    """A text's tokens in order, space-joined, as the FTS5 index holds them (without jieba's
    appended words): what search scores a candidate on when the index cannot give it."""
    return " ".join(_sequence(normalize(text)))

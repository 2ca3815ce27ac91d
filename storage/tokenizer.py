"""The one tokenizer of the search index, for documents and queries alike.

Text is NFKC-normalised (full-width letters and digits become ASCII) and lower-cased, then cut
into runs of Han characters and runs of other letters and digits; everything else (punctuation,
spaces, symbols) separates runs and is dropped.

A document yields, in order of appearance:
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
"""

from __future__ import annotations

import logging
import operator
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

TOKENIZER_NAME = "jieba-han-bigram"
TOKENIZER_VERSION = "1"
MAX_TOKEN_CHARS = 64

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_RUN = re.compile(rf"(?P<han>[{_HAN}]+)|(?P<word>[^\W_{_HAN}]+)")
_NOT_WORD = re.compile(r"[\W_]+")
_HAN_ONLY = re.compile(rf"[{_HAN}]+")


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


def _python_search_cut(text: str) -> list[str]:
    return list(_jieba().cut_for_search(text, HMM=False))


@cache
def search_segmenter() -> Callable[[str], list[str]]:
    """jieba's `cut_for_search` without HMM: rjieba (jieba-rs, same dictionary, same words,
    an order of magnitude faster) when it is installed, else jieba itself."""
    try:
        import rjieba  # type: ignore[import-not-found]
    except ImportError:
        return _python_search_cut
    return lambda text: list(rjieba.cut_for_search(text, False))


def normalize(text: str) -> str:
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


def tokenize_document(text: str) -> list[str]:
    """All index tokens of a text, in order, repeats kept (they count for ranking)."""
    text = normalize(text)
    runs = _runs(text)
    glued = dict(_glued(runs))
    tokens: list[str] = []
    long_han = False
    for i, run in enumerate(runs):
        if run.han:
            tokens.extend(run.text)
            tokens.extend(_bigrams(run.text))
            long_han = long_han or len(run.text) >= 3
        else:
            tokens.append(run.text[:MAX_TOKEN_CHARS])
        if i in glued:
            tokens.append(glued[i])
    if long_han:
        tokens.extend(
            word
            for word in search_segmenter()(text)
            if len(word) >= 3 and _HAN_ONLY.fullmatch(word)
        )
    return tokens


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
    return [word for word in _jieba().cut(normalize(text)) if _RUN.fullmatch(word)]

"""Split Chinese and mixed Chinese/English news text into sentences.

Sentences end after `。！？!?；` or an ellipsis; closing quotes and brackets that follow stay with
the sentence; quoted speech and book titles are not split inside; newlines always split. A full
stop only ends an English sentence when a space and a new sentence follow, and not after an
abbreviation such as `U.S.` or `Mr.`, so numbers like `3.5%` stay whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

TERMINATORS = frozenset("。！？!?；…")
FULL_STOPS = frozenset("。！？!?；")
CLOSERS = frozenset("”’\"'」』）)】》〉]")
QUOTE_PAIRS = {"“": "”", "「": "」", "『": "』", "《": "》", "〈": "〉"}
QUOTE_CLOSERS = frozenset(QUOTE_PAIRS.values())
ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "sr",
        "jr",
        "st",
        "mt",
        "inc",
        "ltd",
        "co",
        "corp",
        "vs",
        "etc",
        "no",
        "fig",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "gov",
        "gen",
        "rep",
        "sen",
    ]
)
SPECIAL = re.compile(
    "[" + re.escape("".join(TERMINATORS | QUOTE_PAIRS.keys() | QUOTE_CLOSERS)) + ".]"
)
LINE_BREAK = re.compile(r"\s*[\r\n\u2028\u2029]+\s*")
WORD_BEFORE_DOT = re.compile(r"([A-Za-z]+)\.$")


def split_sentences(text: str) -> list[str]:
    """The sentences of `text`, stripped, in order; empty pieces are dropped."""
    return list(iter_sentences(text))


def iter_sentences(text: str) -> Iterator[str]:
    """The sentences of `text` one by one, so a caller that needs only the first few does not
    pay for splitting the rest."""
    for line in LINE_BREAK.split(text):
        for piece in _split_line(line.strip(), respect_quotes=True):
            piece = piece.strip()
            if piece:
                yield piece


def _split_line(line: str, *, respect_quotes: bool) -> Iterator[str]:
    """Split one line; from a quote that is never closed on, quotes are ignored."""
    open_quotes: list[str] = []
    start = 0
    n = len(line)
    for match in SPECIAL.finditer(line):
        i = match.start()
        if i < start:
            continue
        char = line[i]
        closes_quote = False
        if respect_quotes and char in QUOTE_PAIRS:
            open_quotes.append(QUOTE_PAIRS[char])
        elif respect_quotes and char in QUOTE_CLOSERS and char in open_quotes:
            while open_quotes.pop() != char:
                pass
            closes_quote = not open_quotes
        ends_quoted_sentence = closes_quote and i > 0 and line[i - 1] in FULL_STOPS
        if ends_quoted_sentence or (not open_quotes and _ends_sentence(line, i)):
            end = i + 1
            while end < n and line[end] in TERMINATORS:
                end += 1
            while end < n and line[end] in CLOSERS:
                end += 1
            yield line[start:end]
            start = end
    if open_quotes:
        yield from _split_line(line[start:], respect_quotes=False)
    else:
        yield line[start:]


def _ends_sentence(line: str, i: int) -> bool:
    char = line[i]
    if char in "!?":
        following = line[i + 1 : i + 2]
        return not following or not following.isascii() or not following.isalnum()
    return char in TERMINATORS or _ends_english_sentence(line, i)


def _ends_english_sentence(line: str, i: int) -> bool:
    if line[i] != "." or i + 2 >= len(line) or not line[i + 1].isspace():
        return False
    following = line[i + 2 :].lstrip()
    if not following or not (following[0].isupper() or _is_cjk(following[0])):
        return False
    word = WORD_BEFORE_DOT.search(line[: i + 1])
    if word is None:
        return line[i - 1 : i].isdigit() or line[i - 1 : i] in CLOSERS
    letters = word.group(1)
    return len(letters) > 1 and letters.lower() not in ABBREVIATIONS


def _is_cjk(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff"

"""Split Chinese and mixed Chinese/English news text into sentences.

Sentences end after `。！？!?；` or an ellipsis; closing quotes and brackets that follow stay with
the sentence; quoted speech and book titles are not split inside; newlines always split. A full
stop only ends an English sentence when a space and a new sentence follow, and not after an
abbreviation such as `U.S.` or `Mr.`, so numbers like `3.5%` stay whole.
"""

from __future__ import annotations

import re

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
    sentences: list[str] = []
    for line in LINE_BREAK.split(text):
        line = line.strip()
        if not line:
            continue
        pieces = _split_line(line, respect_quotes=True)
        if pieces is None:
            pieces = _split_line(line, respect_quotes=False) or []
        sentences.extend(piece for piece in (p.strip() for p in pieces) if piece)
    return sentences


def _split_line(line: str, *, respect_quotes: bool) -> list[str] | None:
    """Split one line; None when quotes are left open, so the caller can retry ignoring them."""
    pieces: list[str] = []
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
            pieces.append(line[start:end])
            start = end
    if open_quotes:
        return None
    pieces.append(line[start:])
    return pieces


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

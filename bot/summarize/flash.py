"""Flash items (快讯): posts whose body says nothing beyond their title. Lists show them as a
flash with no summary line, rather than the title twice."""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher

# What a body may add to its title and still say nothing more: a unit, a full stop's worth.
MAX_EXTRA_CHARS = 2
# No real title is longer; past it the matcher, quadratic on repetitive text, sees only the heads.
MAX_COMPARED_CHARS = 500
_NOT_ALNUM = re.compile(r"[\W_]+")  # exactly the characters `str.isalnum` rejects


def _letters(text: str) -> str:
    return _NOT_ALNUM.sub("", unicodedata.normalize("NFKC", text).lower())


def adds_to_title(title: str, text: str) -> bool:
    """Whether `text` (a summary or body) says more than `title`, punctuation aside.

    The text's letters are gathered line by line (NFKC never joins across a line break), and
    once there are more than the title's plus `MAX_EXTRA_CHARS`, the answer is yes without
    reading further: the matched blocks cover at most the title's letters. Most bodies are
    decided in their first line, instead of a `SequenceMatcher` over the whole body (a fifth
    of an ingest worker's summarizing time)."""
    head = _letters(title)
    enough = len(head) + MAX_EXTRA_CHARS
    pieces: list[str] = []
    gathered = 0
    for line in text.split("\n"):
        piece = _letters(line)
        pieces.append(piece)
        gathered += len(piece)
        if gathered > enough:
            return True
    body = "".join(pieces)
    if body in head:  # also an empty body
        return False
    head, body = head[:MAX_COMPARED_CHARS], body[:MAX_COMPARED_CHARS]
    matcher = SequenceMatcher(None, head, body, autojunk=False)
    covered = sum(block.size for block in matcher.get_matching_blocks())
    return len(body) - covered > MAX_EXTRA_CHARS

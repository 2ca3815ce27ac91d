"""`adds_to_title` decides a long body early; its answers must be those of reading it all."""

from __future__ import annotations

import unicodedata
from difflib import SequenceMatcher

from hypothesis import given
from hypothesis import strategies as st

from bot.summarize.flash import MAX_EXTRA_CHARS, adds_to_title


def reference(title: str, text: str) -> bool:
    """The first implementation: every letter of the text, then the matcher."""

    def letters(value: str) -> str:
        return "".join(ch for ch in unicodedata.normalize("NFKC", value).lower() if ch.isalnum())

    body = letters(text)
    if not body:
        return False
    head = letters(title)
    if body in head:
        return False
    matcher = SequenceMatcher(None, head, body, autojunk=False)
    covered = sum(block.size for block in matcher.get_matching_blocks())
    return len(body) - covered > MAX_EXTRA_CHARS


TITLE = "央行宣布下调存款准备金率0.5个百分点"
PIECES = [
    "央行",
    "宣布",
    "下调",
    "存款准备金率",
    "0.5",
    "个百分点",
    "。",
    "\n",
    "！",
    "Σ",
    "ﬁ",
    "e\u0301",
    "Ａ",
]


@given(st.lists(st.sampled_from(PIECES), max_size=14), st.text(max_size=30))
def test_early_answers_are_the_full_reading(pieces: list[str], extra: str) -> None:
    text = "".join(pieces)
    for title, body in ((TITLE, text), (TITLE, text + extra), (extra, text), (text, extra)):
        assert adds_to_title(title, body) == reference(title, body)


def test_a_flash_and_a_story() -> None:
    assert not adds_to_title(TITLE, f"{TITLE}。")
    assert not adds_to_title(TITLE, f"【{TITLE}】\n")
    assert adds_to_title(TITLE, f"{TITLE}。\n此举将释放长期资金约1万亿元。")

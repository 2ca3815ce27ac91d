"""The summarizer's fast segmenter must cut exactly as jieba does, or summaries would drift."""

from __future__ import annotations

import json

import jieba
import pytest
from conftest import SUMM_DEV, need_shared

from bot.summarize.summarizer import word_segmenter


def test_the_segmenter_matches_jieba_over_the_corpus_and_the_dev_set(corpus_files):
    pytest.importorskip("rjieba", reason="without rjieba the summarizer uses jieba itself")
    lines = [
        line for path in corpus_files for line in path.read_text(encoding="utf-8-sig").splitlines()
    ]
    with need_shared(SUMM_DEV).open(encoding="utf-8") as dev:
        lines += [line for item in dev for line in json.loads(item)["article"].splitlines()]
    cut = word_segmenter()
    differing = [line for line in lines if cut(line) != jieba.lcut(line, HMM=False)]
    assert len(lines) > 2500
    assert differing == []

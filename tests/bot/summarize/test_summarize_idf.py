"""Keyword weights learned from the store's own articles."""

from __future__ import annotations

import subprocess
import sys

from bot.summarize.idf import MIN_DOCUMENTS, idf_from_documents
from bot.summarize.summarizer import jieba_idf


def test_jiebas_table_is_read_without_its_part_of_speech_tables() -> None:
    """As `jieba.analyse` loads it, without importing that (0.8 s of a worker's start)."""
    check = (
        "import sys; from bot.summarize.summarizer import jieba_idf; jieba_idf();"
        " assert 'jieba.posseg' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", check], check=True)
    import jieba.analyse

    assert jieba_idf() == (
        jieba.analyse.default_tfidf.idf_freq,
        jieba.analyse.default_tfidf.median_idf,
    )


def test_a_small_store_keeps_jiebas_table():
    assert idf_from_documents(["央行今天开展逆回购操作。"] * (MIN_DOCUMENTS - 1)) is None


def test_words_every_article_uses_weigh_less_than_distinctive_ones():
    documents = [f"据公告，市场关注第{n}号项目。" for n in range(MIN_DOCUMENTS)]
    documents[:5] = ["据公告，市场关注韶关钢铁转型。"] * 5
    idf = idf_from_documents(documents)
    assert idf is not None
    assert idf["市场"] < idf["韶关"]
    assert idf["市场"] == 1.0  # in every document: ln((N+1)/(N+1)) + 1

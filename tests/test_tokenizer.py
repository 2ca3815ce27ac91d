"""The search tokenizer: what a query turns into, and that documents always hold it."""

from __future__ import annotations

import re
from pathlib import Path

import jieba
import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage.tokenizer import (
    MAX_TOKEN_CHARS,
    TOKENIZER_NAME,
    TOKENIZER_VERSION,
    normalize,
    search_segmenter,
    segment_words,
    tokenize_document,
    tokenize_query,
)

NEWS = (
    "中国人民银行决定下调金融机构存款准备金率0.5个百分点。A股市场迎来5G概念股行情，"
    "贵州茅台（600519）涨停，中证500指数上涨1.2%。韶关市委书记说，郭明錤认为iPhone 13产量不足。"
)
WORD = re.compile(r"[^\W_]+")


def test_the_tokenizer_has_a_name_and_a_version_for_the_store() -> None:
    assert TOKENIZER_NAME and TOKENIZER_VERSION


def test_a_two_character_word_is_one_term_that_documents_hold() -> None:
    assert tokenize_query("银行") == ["银行"]
    assert "银行" in tokenize_document("中国人民银行决定降准")


def test_a_one_character_query_finds_the_character_inside_longer_words() -> None:
    assert tokenize_query("猪") == ["猪"]
    assert "猪" in tokenize_document("生猪及猪肉价格环比上涨")


def test_a_name_jieba_does_not_know_is_found_through_its_bigrams() -> None:
    terms = tokenize_query("郭明錤")
    assert terms == ["郭明", "明錤"]
    assert set(terms) <= set(tokenize_document(NEWS))


def test_jieba_words_of_three_characters_or_more_are_indexed_whole() -> None:
    assert "中国人民银行" in tokenize_document(NEWS)
    assert "准备金率" in tokenize_document(NEWS)


def test_codes_stay_whole_and_latin_is_lower_cased() -> None:
    assert tokenize_query("600519") == ["600519"]
    assert tokenize_query("iPhone") == ["iphone"]
    document = tokenize_document(NEWS)
    assert {"600519", "iphone", "13", "5g"} <= set(document)


def test_latin_glued_to_chinese_is_one_term_as_well() -> None:
    assert tokenize_query("A股") == ["a", "a股", "股"]
    assert tokenize_query("5G") == ["5g"]
    assert tokenize_query("中证500") == ["中证", "证500", "500"]
    document = set(tokenize_document(NEWS))
    for query in ("A股", "5G", "中证500", "5G概念股"):
        assert set(tokenize_query(query)) <= document, query


def test_a_股_is_not_matched_by_a_and_股_far_apart() -> None:
    assert "a股" not in tokenize_document("A great day. 股市上涨")


def test_full_width_letters_and_digits_are_the_same_as_ascii() -> None:
    assert tokenize_query("ＡＢＣ１２３") == tokenize_query("abc123") == ["abc123"]


def test_punctuation_and_query_syntax_are_dropped() -> None:
    assert tokenize_query('"*-():^\\') == []
    assert tokenize_query("，。！？、《》“”") == []
    assert tokenize_query('NEAR(银行 AND "央行")') == ["near", "银行", "and", "央行"]


def test_overlong_runs_are_cut_the_same_way_in_documents_and_queries() -> None:
    code = "x" * (MAX_TOKEN_CHARS * 2)
    assert tokenize_query(code) == ["x" * MAX_TOKEN_CHARS]
    assert tokenize_query(code)[0] in tokenize_document(f"编号{code}结束")


def test_trending_words_come_from_jieba_precise_mode() -> None:
    words = segment_words(NEWS)
    assert "中国人民银行" in words
    assert "，" not in words


@given(st.text(max_size=200))
def test_every_token_is_letters_and_digits_only(text: str) -> None:
    """The FTS5 `ascii` tokenizer and the tsvector literal rely on this."""
    for token in tokenize_document(text) + tokenize_query(text):
        assert WORD.fullmatch(token), token
        assert len(token) <= MAX_TOKEN_CHARS + 1


@given(st.data())
def test_any_chinese_substring_of_a_document_matches_it(data: st.DataObject) -> None:
    """Index and query agree: query terms of a piece of the text are all document tokens."""
    start = data.draw(st.integers(0, len(NEWS) - 1))
    end = data.draw(st.integers(start + 1, len(NEWS)))
    piece = NEWS[start:end]
    if re.search(r"[A-Za-z0-9]", piece):
        piece = re.sub(r"[A-Za-z0-9.]+", " ", piece)
    assert set(tokenize_query(piece)) <= set(tokenize_document(NEWS))


def test_rjieba_cuts_the_whole_corpus_exactly_like_jieba(corpus_files: list[Path]) -> None:
    """rjieba is used for speed only because it gives jieba's words, token for token."""
    rjieba = pytest.importorskip("rjieba")
    for path in corpus_files:
        text = normalize(path.read_text(encoding="utf-8"))
        assert rjieba.cut_for_search(text, False) == list(jieba.cut_for_search(text, HMM=False))
    assert search_segmenter()("中国人民银行") == list(
        jieba.cut_for_search("中国人民银行", HMM=False)
    )

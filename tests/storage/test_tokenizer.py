"""The search tokenizer: what a query turns into, and that documents always hold it."""

from __future__ import annotations

import itertools
import operator
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import jieba
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.ingest.parser import parse_post
from storage.tokenizer import (
    _RUN,
    BOUNDARY,
    MAX_TOKEN_CHARS,
    TOKENIZER_NAME,
    TOKENIZER_VERSION,
    bag_query,
    is_prefix_term,
    normalize,
    search_segmenter,
    segment_words,
    sequence_query,
    tokenize_document,
    tokenize_lean_document,
    tokenize_query,
    tokenize_sequence,
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


def test_the_bag_query_leaves_out_a_character_another_term_holds() -> None:
    """Every Han character of a lean document starts a pair or ends its run alone, so `a股`
    already finds only texts that `'股':*` matches."""
    assert bag_query("A股") == [("a",), ("a股",)]
    assert bag_query("中A股") == [("中a",), ("a",), ("a股",)]
    assert bag_query("猪 央行") == [("猪",), ("央行",)]
    assert bag_query("股") == [("股",)]
    for text in ("外资买入A股", "A股走强", "中A股指数", "中国\ufa6e中a股"):
        document = tokenize_lean_document(text)
        assert any(token.startswith("股") for token in document), text


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


def _holds(document: list[str], phrase: tuple[str, ...]) -> bool:
    """The phrase occurs in the token sequence, token after token (what FTS5 matches)."""
    width = len(phrase)
    return any(tuple(document[i : i + width]) == phrase for i in range(len(document)))


def test_the_sequence_is_the_text_in_order_with_boundaries_for_separators() -> None:
    assert tokenize_sequence("A股大涨，5G（600519）") == [
        "a", "股", "大", "涨", BOUNDARY, "5g", BOUNDARY, "600519", BOUNDARY,
    ]  # fmt: skip


def test_a_sequence_query_is_one_phrase_per_stretch_of_text() -> None:
    assert sequence_query("央行 降准") == [("央", "行"), ("降", "准")]
    assert sequence_query("A股") == [("a", "股")]
    assert sequence_query("中证500") == [("中", "证", "500")]
    assert sequence_query("猪 猪") == [("猪",)]
    assert sequence_query('NEAR(银行 AND "央行")') == [
        ("near",), ("银", "行"), ("and",), ("央", "行"),
    ]  # fmt: skip
    assert sequence_query('"*-():^\\，。！？') == []


def test_a_phrase_does_not_span_a_separator() -> None:
    document = tokenize_sequence("中国，人民银行。A great day. 股市上涨")
    assert _holds(document, ("人", "民"))
    assert not _holds(document, ("国", "人"))
    assert not _holds(document, ("a", "股"))
    assert not _holds(document, ("day", "股"))


def test_the_sequence_keeps_jieba_words_apart_from_the_text() -> None:
    document = tokenize_sequence(NEWS)
    assert "中国人民银行" in document
    words = document[len(document) - document[::-1].index(BOUNDARY) :]
    assert "中国人民银行" in words and "中" not in words


def test_overlong_runs_are_cut_the_same_way_in_sequences_and_phrases() -> None:
    code = "x" * (MAX_TOKEN_CHARS * 2)
    assert sequence_query(code) == [("x" * MAX_TOKEN_CHARS,)]
    assert _holds(tokenize_sequence(f"编号{code}结束"), ("号", "x" * MAX_TOKEN_CHARS, "结"))


@given(st.text(max_size=200))
def test_every_sequence_token_is_letters_and_digits_or_the_boundary(text: str) -> None:
    for token in tokenize_sequence(text):
        assert token == BOUNDARY or WORD.fullmatch(token), token
    for phrase in sequence_query(text):
        assert phrase and BOUNDARY not in phrase
        assert all(WORD.fullmatch(token) for token in phrase)


@given(st.data())
def test_any_piece_of_a_document_is_found_as_phrases(data: st.DataObject) -> None:
    """Index and query agree: every phrase of a piece of the text is in its sequence."""
    start = data.draw(st.integers(0, len(NEWS) - 1))
    end = data.draw(st.integers(start + 1, len(NEWS)))
    piece = NEWS[start:end]
    # a piece that cuts a letter/digit run in two holds a run the text does not
    if start > 0 and re.match(r"[A-Za-z0-9]{2}", NEWS[start - 1 : start + 1]):
        piece = piece.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
    if end < len(NEWS) and re.match(r"[A-Za-z0-9]{2}", NEWS[end - 1 : end + 1]):
        piece = piece.rstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
    document = tokenize_sequence(NEWS)
    for phrase in sequence_query(piece):
        assert _holds(document, phrase), phrase


def test_rjieba_cuts_the_whole_corpus_exactly_like_jieba(corpus_files: list[Path]) -> None:
    """rjieba is used for speed only because it gives jieba's words, token for token."""
    rjieba = pytest.importorskip("rjieba")
    for path in corpus_files:
        text = normalize(path.read_text(encoding="utf-8"))
        assert rjieba.cut_for_search(text, False) == list(jieba.cut_for_search(text, HMM=False))
    assert search_segmenter()("中国人民银行") == list(
        jieba.cut_for_search("中国人民银行", HMM=False)
    )


def test_trending_words_are_jiebas_over_the_corpus(corpus_files: list[Path]) -> None:
    """`segment_words` takes rjieba's HMM cut for speed, and must keep exactly jieba's words,
    also around runs of letters, digits and punctuation that rjieba keeps whole."""
    pytest.importorskip("rjieba")
    lines = [
        line for path in corpus_files for line in path.read_text(encoding="utf-8").splitlines()
    ]
    lines += ["14.4kbps 的调制解调器，见 www.peopledaily.com.cn", "A股_B股 中证500、5G手机"]

    def jiebas(text: str) -> list[str]:
        return [w for w in jieba.cut(normalize(text)) if _RUN.fullmatch(w)]

    assert len(lines) > 2000
    assert [line for line in lines if segment_words(line) != jiebas(line)] == []
    assert segment_words("14.4kbps") == ["kbps"] == jiebas("14.4kbps")


def _lean_finds(document: list[str], term: str) -> bool:
    if is_prefix_term(term):
        return any(token.startswith(term) for token in document)
    return term in document


@given(st.data())
def test_the_lean_document_answers_every_query_the_full_one_does(data: st.DataObject) -> None:
    """PostgreSQL's bag (version 2) drops tokens, never a match: any piece of the text is found
    by its query terms, a single character as a prefix of the bigram it starts."""
    start = data.draw(st.integers(0, len(NEWS) - 1))
    end = data.draw(st.integers(start + 1, min(len(NEWS), start + 12)))
    document, full = tokenize_lean_document(NEWS), set(tokenize_document(NEWS))
    terms = tokenize_query(NEWS[start:end])
    assert all(_lean_finds(document, term) for term in terms if term in full)
    assert all(_lean_finds(document, term) for term in tokenize_query(NEWS))


def test_the_lean_document_keeps_run_ends_and_drops_what_bigrams_start() -> None:
    lean = tokenize_lean_document("生猪及猪肉价格上涨。猪")
    assert "猪" in lean and "涨" in lean  # they end a run
    assert "生" not in lean and "价" not in lean  # found as 生猪:*, 价格:*
    assert {"生猪", "猪肉", "上涨"} <= set(lean)
    assert "中国人民银行" not in tokenize_lean_document(NEWS)  # jieba's words: no query asks
    assert set(tokenize_lean_document(NEWS)) < set(tokenize_document(NEWS))
    long_text = NEWS * 3  # numpy's path
    full = Counter(tokenize_document(long_text))
    words = Counter(t for t in full.elements() if re.fullmatch(r"[\u4e00-\u9fff]{3,}", t))
    assert Counter(tokenize_lean_document(long_text)) == full - words - Counter(
        _starts_a_bigram_at(long_text)
    )


def _starts_a_bigram_at(text: str) -> list[str]:
    """Each Han character occurrence that a Han character follows (repeats kept)."""
    han = re.compile(r"[\u4e00-\u9fff]")
    text = normalize(text)
    return [a for a, b in itertools.pairwise(text) if han.match(a) and han.match(b)]


# --- the slow reference: the first implementation, whose tokens the stored index holds --------

_REF_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_REF_RUN = re.compile(rf"(?P<han>[{_REF_HAN}]+)|(?P<word>[^\W_{_REF_HAN}]+)")
_REF_NOT_WORD = re.compile(r"[\W_]+")
_REF_HAN_ONLY = re.compile(rf"[{_REF_HAN}]+")


@dataclass(frozen=True, slots=True)
class _RefRun:
    text: str
    han: bool
    start: int
    end: int


def _ref_normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def _ref_runs(text: str) -> list[_RefRun]:
    runs = []
    for match in _REF_RUN.finditer(text):
        run, start = match.group(), match.start()
        if run.isalnum():
            runs.append(_RefRun(run, match.lastgroup == "han", start, match.end()))
            continue
        for piece in _REF_NOT_WORD.split(run):
            if piece:
                offset = start + run.index(piece)
                runs.append(_RefRun(piece, True, offset, offset + len(piece)))
    return runs


def _ref_glued(runs: list[_RefRun]) -> Iterator[tuple[int, str]]:
    for i in range(len(runs) - 1):
        left, right = runs[i], runs[i + 1]
        if left.end != right.start:
            continue
        if left.han:
            yield i, left.text[-1] + right.text[:MAX_TOKEN_CHARS]
        else:
            yield i, left.text[:MAX_TOKEN_CHARS] + right.text[0]


def _ref_bigrams(run: str) -> Iterator[str]:
    return map(operator.add, run, run[1:])


def reference_tokenize_document(text: str) -> list[str]:
    text = _ref_normalize(text)
    runs = _ref_runs(text)
    glued = dict(_ref_glued(runs))
    tokens: list[str] = []
    long_han = False
    for i, run in enumerate(runs):
        if run.han:
            tokens.extend(run.text)
            tokens.extend(_ref_bigrams(run.text))
            long_han = long_han or len(run.text) >= 3
        else:
            tokens.append(run.text[:MAX_TOKEN_CHARS])
        if i in glued:
            tokens.append(glued[i])
    if long_han:
        tokens.extend(
            word
            for word in search_segmenter()(text)
            if len(word) >= 3 and _REF_HAN_ONLY.fullmatch(word)
        )
    return tokens


def reference_tokenize_query(text: str) -> list[str]:
    runs = _ref_runs(_ref_normalize(text))
    glued = dict(_ref_glued(runs))
    terms: list[str] = []
    for i, run in enumerate(runs):
        if not run.han:
            terms.append(run.text[:MAX_TOKEN_CHARS])
        elif len(run.text) == 1:
            terms.append(run.text)
        else:
            terms.extend(_ref_bigrams(run.text))
        if i in glued:
            terms.append(glued[i])
    return list(dict.fromkeys(terms))


def _assert_same_tokens(text: str) -> None:
    assert Counter(tokenize_document(text)) == Counter(reference_tokenize_document(text)), text
    assert tokenize_query(text) == reference_tokenize_query(text), text


def test_documents_and_queries_of_the_whole_corpus_get_the_reference_tokens(
    corpus_files: list[Path],
) -> None:
    """The index stores these tokens: the fast tokenizer must give them, as a multiset."""
    for path in corpus_files:
        text = path.read_text(encoding="utf-8")
        post = parse_post(text, path.name, tz=ZoneInfo("Asia/Shanghai"))
        for piece in (text, post.title, "\n".join(p.text for p in post.paragraphs)):
            assert normalize(piece) == _ref_normalize(piece)
            _assert_same_tokens(piece)


# Han (BMP, compatibility, astral), letters and digits (full-width too), separators, "_",
# code points of the Han blocks that are no letters, what NFKC composes or expands, and runs
# longer than MAX_TOKEN_CHARS.
_PIECES = st.sampled_from(
    [
        *"中国人民银行股证券涨停市场",
        "中国人民银行",
        "准备金率",
        "\u3400",
        "\u4dbf",
        "\uf900",
        "\ufa6d",
        "\U00020000",
        "\U0002a6d6",
        "\U0003134a",
        *"aZ59ßİǅ々〇가ー",
        *"ＡＺａｚ０９",
        *"，。！？、；：（）《》“”",
        *".,;:!?-+*/()[]\"' \t\n",
        "_",
        "\u3000",
        "…",
        "½",
        "Ⅻ",
        "ﬁ",
        "\u0301",
        "\u0308",
        "\u9fff",
        "\u4dff",
        "\U0003134f",
        "\ufa6e",
        "\ufaff",
        "\U0002a6e0",
        "\U0002fa1e",
        "\u4dc0",
        "x" * (MAX_TOKEN_CHARS - 1),
        "y" * MAX_TOKEN_CHARS,
        "Z" * (MAX_TOKEN_CHARS + 1),
        "7" * (MAX_TOKEN_CHARS + 6),
        "ab" * MAX_TOKEN_CHARS,
    ]
)
_MIXED_TEXT = st.lists(st.one_of(_PIECES, st.text(max_size=5)), max_size=40).map("".join)


@settings(max_examples=500, deadline=None)
@given(_MIXED_TEXT)
def test_any_text_gets_the_reference_tokens(text: str) -> None:
    _assert_same_tokens(text)


@settings(deadline=None)
@given(st.text(max_size=300))
def test_any_unicode_gets_the_reference_tokens(text: str) -> None:
    _assert_same_tokens(text)


_REF_BLOCKS = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3134F))


@pytest.mark.parametrize("padding", ["", "，" * 60], ids=["short", "long"])
def test_the_edges_of_the_han_blocks_get_the_reference_tokens(padding: str) -> None:
    edges = [
        chr(code)
        for first, last in _REF_BLOCKS
        for code in (first - 1, first, first + 1, last - 1, last, last + 1)
    ]
    for edge in edges:
        _assert_same_tokens(f"{padding}中{edge}中{edge}a{edge}{edge}1{padding}")
    _assert_same_tokens(padding + "".join(edges) + padding)
    _assert_same_tokens(padding + "a".join(edges) + padding)


@given(_MIXED_TEXT)
def test_normalize_is_nfkc_lower_cased(text: str) -> None:
    assert normalize(text) == _ref_normalize(text)


def test_reference_quirks_are_kept() -> None:
    """A Han run broken by an unassigned code point glues as the first implementation did."""
    for text in ("中国\ufa6e中a股", "中国人\U0003134f中\U0003134f国", "a中\ufa6e中b", "中a中b中"):
        _assert_same_tokens(text)
    assert "中a" not in tokenize_document("中国\ufa6e中a股")
    assert Counter(tokenize_document("中国人\U0003134f中\U0003134f国"))["中国"] == 2

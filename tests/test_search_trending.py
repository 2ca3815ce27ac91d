"""Trending terms as plain values: which words stand out in the window, and why."""

from __future__ import annotations

from storage.trending import (
    WindowArticle,
    candidate_terms,
    log_likelihood_ratio,
    rank_terms,
    window_counts,
)


def test_the_ratio_is_zero_for_equal_rates_and_grows_with_the_gap() -> None:
    assert log_likelihood_ratio(5, 50, 100, 1000) == 0.0
    weak = log_likelihood_ratio(10, 50, 100, 1000)
    strong = log_likelihood_ratio(30, 50, 100, 1000)
    assert 0 < weak < strong


def test_the_ratio_copes_with_empty_sides() -> None:
    assert log_likelihood_ratio(3, 3, 0, 100) > 0
    assert log_likelihood_ratio(0, 0, 5, 100) == 0.0


def test_stop_words_numbers_and_single_characters_are_not_trends() -> None:
    terms = candidate_terms("记者表示，2022年的芯片短缺仍在持续，的确如此。")
    assert "芯片" in terms
    assert not {"记者", "表示", "2022", "的", "年"} & terms


def test_an_over_represented_word_beats_a_merely_common_one() -> None:
    window = [
        WindowArticle("a", "芯片短缺加剧", "汽车厂商表示芯片短缺影响生产。市场关注后续。"),
        WindowArticle("b", "手机出货下滑", "芯片供应紧张，手机市场出货下滑。"),
        WindowArticle("c", "股指收涨", "市场情绪回暖，芯片板块领涨。"),
    ]
    counts, examples = window_counts(window)
    background = {"芯片": 4, "市场": 400, "手机": 900}
    ranked = rank_terms(counts, examples, background, len(window), 1000, limit=5)
    assert [t.term for t in ranked] == ["芯片", "市场"], "手机 is rarer here than elsewhere"
    assert ranked[0].score > ranked[1].score
    assert ranked[0].count == 3 and ranked[0].background_count == 4
    assert ranked[0].example_key == "a", "the example names the term in its title"

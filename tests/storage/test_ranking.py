"""The candidate score of `storage.ranking`, without a store."""

from __future__ import annotations

from storage.ranking import TITLE_WEIGHT, ScoredText, query_needles, recency, relevance
from storage.tokenizer import sequence_text

FILLER = "市场人士普遍认为后续走势仍有待观察，投资者需关注政策变化与资金流向。"


def score(query: str, title: str, body: str) -> float:
    return relevance(
        query_needles(query, 32), ScoredText.of(sequence_text(title), sequence_text(body))
    )


def test_a_title_match_beats_any_body_only_match_even_a_fresher_one() -> None:
    title = score("央行", "央行研究局课题组：促进消费投资增长", FILLER * 40)
    body = score("央行", "降准对A股市场趋势未产生特别影响", "央行降准。" * 20)
    assert title > body * recency(0) / recency(30)
    assert body <= 1.0 < TITLE_WEIGHT / 2


def test_an_earlier_place_in_the_title_ranks_higher() -> None:
    first = score("央行", "央行研究局课题组：促进消费投资增长", FILLER)
    later = score("央行", "前执行董事预计日本央行刺激计划将缩小范围", FILLER)
    assert first > later


def test_a_long_article_whose_lead_is_about_the_query_is_not_buried() -> None:
    long_lead = score("降准", "本周观察", "央行宣布降准，释放长期资金。" + FILLER * 200)
    short_tail = score("降准", "本周观察", FILLER * 2 + "另有机构提到降准。")
    assert long_lead > short_tail


def test_phrases_match_whole_tokens_in_order() -> None:
    assert score("13", "iPhone 13开售", "") > 0
    assert score("13", "2013年回顾", "销量2013台") == 0
    assert score("a股", "外资杀入A股", "") > 0
    assert score("央行", "中央，行长讲话", "") == 0


def test_recency_halves_its_excess_after_the_half_life() -> None:
    assert recency(0) == 1.5
    assert recency(7) == 1.25
    assert recency(-3) == 1.5

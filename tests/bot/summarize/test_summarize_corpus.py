"""Summaries of every real post in ../shared/corpus/finews, parsed as the ingest parses them."""

from __future__ import annotations

import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.ingest.parser import parse_post
from bot.summarize import adds_to_title, split_sentences, summarize
from storage.records import ArticleRecord

SHANGHAI = ZoneInfo("Asia/Shanghai")
SHAOGUAN = "2022-04-20-NW202204202349852762.md"
SHAOGUAN_SUBHEADINGS = ("传统产业变革转型焕发新生", "新兴产业高点布局增添动能")
FORBIDDEN = {
    "dateline": re.compile(
        r"\d{1,2}月\d{1,2}日(?:电|讯)|本报讯|[（(]\s*记者|记者\s*\S{1,8}\s*报道"
    ),
    "source line": re.compile(r"文章来源|来源\s*[：:]|原标题|责任编辑"),
    "back-link": re.compile(r"返回"),
    "URL": re.compile(r"http|www\.", re.IGNORECASE),
    "HTML": re.compile(r"<\s*/?[A-Za-z!]|&(?:lt|gt|amp|quot|nbsp|#\d+);"),
}


@pytest.fixture(scope="module")
def posts(corpus_files: list[Path]) -> list[ArticleRecord]:
    return [parse_post(p.read_bytes().decode("utf-8"), p.name, tz=SHANGHAI) for p in corpus_files]


def body(post: ArticleRecord) -> list[str]:
    """The paragraph texts, subheadings included: the summarizer must spot them itself."""
    return [paragraph.text for paragraph in post.paragraphs]


def test_no_summary_carries_datelines_sources_backlinks_urls_or_html(
    posts: list[ArticleRecord],
) -> None:
    assert len(posts) >= 160
    problems = []
    for post in posts:
        for digest in (post.digest, None):
            summary = summarize(post.title, body(post), max_chars=120, digest=digest)
            problems += [
                f"{post.file}: {what} in {summary!r}"
                for what, pattern in FORBIDDEN.items()
                if pattern.search(summary)
            ]
            flash = not adds_to_title(post.title, "\n".join([digest or "", *body(post)]))
            if flash != (summary == "") or len(summary) > 120:
                problems.append(f"{post.file}: {len(summary)} characters: {summary!r}")
    assert problems == []


def test_summaries_without_digest_are_built_from_the_articles_own_sentences(
    posts: list[ArticleRecord],
) -> None:
    for post in posts:
        text = "".join(body(post))
        summary = summarize(post.title, body(post), max_chars=120)
        for sentence in split_sentences(summary):
            assert sentence.rstrip("…") in text or sentence.rstrip("…") in post.title, (
                post.file,
                sentence,
            )


def test_shaoguan_summary_comes_from_its_opening_paragraphs_about_shaoguan(
    posts: list[ArticleRecord],
) -> None:
    post = next(p for p in posts if p.file and p.file.endswith(SHAOGUAN))
    paragraphs = body(post)
    first_subheading = paragraphs.index(SHAOGUAN_SUBHEADINGS[0])
    opening = "".join(paragraphs[:first_subheading])

    summary = summarize(post.title, paragraphs, max_chars=120)

    assert 0 < len(summary) <= 120
    assert "韶关" in summary
    assert not any(heading in summary for heading in SHAOGUAN_SUBHEADINGS)
    sentences = split_sentences(summary)
    assert sentences and all(sentence in opening for sentence in sentences)


def _post(posts: list[ArticleRecord], key: str) -> ArticleRecord:
    return next(p for p in posts if p.key == key)


def test_the_noon_bulletin_is_summarized_by_the_item_its_title_names(
    posts: list[ArticleRecord],
) -> None:
    post = _post(posts, "202112082206884365")  # 午间公告：广生堂与瑞泰来医药签订战略合作框架协议
    summary = summarize(post.title, body(post), max_chars=120, digest=post.digest)
    assert summary.startswith("广生堂：与瑞泰来医药签订战略合作框架协议")
    assert "东瑞股份" not in summary


def test_the_hong_kong_midday_review_runs_on_to_a_sentence_end(posts: list[ArticleRecord]) -> None:
    post = _post(posts, "202112082206885694")  # 港股午评｜恒指微跌 苹果概念股走强…
    summary = summarize(post.title, body(post), max_chars=120, digest=post.digest)
    assert summary != "苹果概念股大涨，比亚迪电子涨逾5%；"
    assert "苹果概念股大涨" in summary and summary[-1] in "。！？…"


def test_no_corpus_summary_ends_on_a_clause_mark_or_repeats_its_title(
    posts: list[ArticleRecord],
) -> None:
    flashes = []
    for post in posts:
        summary = summarize(post.title, body(post), max_chars=120, digest=post.digest)
        assert not summary or summary[-1] not in "；，;,、：", (post.file, summary)
        assert not summary or adds_to_title(post.title, summary), (post.file, summary)
        if not summary:
            flashes.append(post.key)
    # the flash items whose body is their title, word for word
    assert {"202112082206742097", "202112082207139110", "202112082207158283"} <= set(flashes)

"""Trending terms: words of the newest articles that are over-represented against the whole store.

The window is the `hours` before the newest article in the store (not before now), so a store
that has stopped growing still has a trend. For every word jieba finds in the window's articles
(two characters or more, no stop words, no bare numbers) we compare the share of window articles
holding it with the share of the other articles holding it, counted through the search index,
by Dunning's log-likelihood ratio; among words at least `MIN_LIFT` times as frequent in the
window as outside it, the most surprising win.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Article
from storage.search import article_body, count_matching, newest_published
from storage.tokenizer import normalize, segment_words

MIN_WINDOW_COUNT = 2
MIN_LIFT = 2.0
SMALL_WINDOW = 10
CANDIDATES = 100
MAX_WINDOW_ARTICLES = 5000
_STOP_WORDS_TEXT = """
一个 一些 一直 不是 不过 不会 与此同时 为了 主要 之后 也是 了解 今年 今天 他们 以上 以及 以来
但是 作为 你们 其中 其他 其实 具体 出现 分别 则是 即可 去年 可以 可能 同时 同比 告诉 因为 因此
她们 如果 如何 它们 对于 将会 已经 并且 情况 我们 或者 所以 方面 日前 日电 明年 是否 有关 本次
来源 此外 没有 然而 相关 目前 直接 相比 知道 而且 表示 认为 记者 该股 这个 这些 这样 进一步 进行
通过 那么 部分 需要 非常 文章 来自 截至 昨日 本报讯 报道 消息 时间 年度 今日 就是 还是 什么 怎么
the and for with that this from are was were has have had not but you your its
"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())


@dataclass(frozen=True, slots=True)
class TrendingTerm:
    term: str
    count: int
    background_count: int
    score: float
    example_key: str
    example_title: str


@dataclass(frozen=True, slots=True)
class WindowArticle:
    key: str
    title: str
    text: str


def candidate_terms(text: str) -> set[str]:
    """The distinct words of a text worth reporting as a trend."""
    return {
        word
        for word in segment_words(text)
        if len(word) >= 2 and not word.isdigit() and word not in STOP_WORDS
    }


def log_likelihood_ratio(k1: int, n1: int, k2: int, n2: int) -> float:
    """Dunning's G² for "k1 of n1" against "k2 of n2": how surprising the difference is."""

    def log_l(k: int, n: int, p: float) -> float:
        if p <= 0.0 or p >= 1.0:
            return 0.0 if k in (0, n) else -math.inf
        return k * math.log(p) + (n - k) * math.log(1 - p)

    if n1 <= 0 or n2 <= 0:
        return 0.0
    p1, p2, p = k1 / n1, k2 / n2, (k1 + k2) / (n1 + n2)
    return 2 * (log_l(k1, n1, p1) + log_l(k2, n2, p2) - log_l(k1, n1, p) - log_l(k2, n2, p))


def window_counts(
    articles: Iterable[WindowArticle],
) -> tuple[Counter[str], dict[str, WindowArticle]]:
    """How many window articles hold each term, and an example: the first (newest) article with
    the term in its title, else the first holding it at all."""
    counts: Counter[str] = Counter()
    examples: dict[str, WindowArticle] = {}
    headlined: set[str] = set()
    for article in articles:
        title = normalize(article.title)
        for term in candidate_terms(f"{article.title}\n{article.text}"):
            counts[term] += 1
            if term not in headlined and term in title:
                examples[term] = article
                headlined.add(term)
            else:
                examples.setdefault(term, article)
    return counts, examples


def rank_terms(
    counts: Counter[str],
    examples: dict[str, WindowArticle],
    background: dict[str, int],
    window_size: int,
    store_size: int,
    limit: int,
) -> list[TrendingTerm]:
    """Over-represented terms by log-likelihood ratio, best first; ties by count, then term."""
    ranked = []
    outside = store_size - window_size
    for term, background_count in background.items():
        k1 = counts[term]
        k2 = max(background_count - k1, 0)
        if outside > 0 and k1 / window_size <= MIN_LIFT * k2 / outside:
            continue
        score = log_likelihood_ratio(k1, window_size, k2, outside)
        example = examples[term]
        ranked.append(TrendingTerm(term, k1, background_count, score, example.key, example.title))
    ranked.sort(key=lambda t: (-t.score, -t.count, t.term))
    return ranked[:limit]


async def trending_terms(
    session: AsyncSession,
    *,
    hours: float = 24.0,
    limit: int = 10,
    until: datetime | None = None,
    candidates: int = CANDIDATES,
) -> list[TrendingTerm]:
    """The terms of the `hours` before `until` (default: the newest article) that stand out."""
    end = until or await newest_published(session)
    start = end - timedelta(hours=hours)
    rows: Sequence[Article] = list(
        await session.scalars(
            select(Article)
            .where(Article.published_at > start, Article.published_at <= end)
            .order_by(Article.published_at.desc(), Article.id.desc())
            .limit(MAX_WINDOW_ARTICLES)
        )
    )
    window = [WindowArticle(a.key, a.title, article_body(a)) for a in rows]
    if not window:
        return []
    counts, examples = window_counts(window)
    least = MIN_WINDOW_COUNT if len(window) >= SMALL_WINDOW else 1
    chosen = [t for t, n in counts.most_common(candidates) if n >= least]
    background = {term: await count_matching(session, term) for term in chosen}
    store_size = int(await session.scalar(select(func.count(Article.id))) or 0)
    return rank_terms(counts, examples, background, len(window), store_size, limit)

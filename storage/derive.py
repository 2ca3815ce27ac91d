"""Index tokens, fingerprint and trending words of an article's text: pure (no SQLAlchemy), so
they can be computed in any worker process.

The store writes exactly these values (see `storage.records.Derived`); index and query stay
segmented the same way because both come from the backend's `storage.tokenizer.IndexScheme`.
"""

from __future__ import annotations

from dataclasses import replace

from storage.dedup import fingerprint, to_signed
from storage.ranking import SCORED_BODY_TOKENS, SCORED_TITLE_CHARS
from storage.records import ArticleRecord, Derived, body_text
from storage.tokenizer import SEQUENCE, IndexScheme, segment_words, sequence_text

# Only the start of a very long body is indexed: PostgreSQL refuses a tsvector over 1 MB.
MAX_INDEXED_BODY_CHARS = 30_000
MAX_TERM_CHARS = 64
MAX_TERMS_PER_STORY = 40

_STOP_WORDS_TEXT = """
一个 一些 一直 不是 不过 不会 与此同时 为了 主要 之后 也是 了解 今年 今天 他们 以上 以及 以来
但是 作为 你们 其中 其他 其实 具体 出现 分别 则是 即可 去年 可以 可能 同时 同比 告诉 因为 因此
她们 如果 如何 它们 对于 将会 已经 并且 情况 我们 或者 所以 方面 日前 日电 明年 是否 有关 本次
来源 此外 没有 然而 相关 目前 直接 相比 知道 而且 表示 认为 记者 该股 这个 这些 这样 进一步 进行
通过 那么 部分 需要 非常 文章 来自 截至 昨日 本报讯 报道 消息 时间 年度 今日 就是 还是 什么 怎么
the and for with that this from are was were has have had not but you your its
"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())


def index_text(title: str, body: str, scheme: IndexScheme) -> tuple[str, str]:
    """Title and body as the index stores them: their tokens, joined by spaces."""
    return (
        " ".join(scheme.document(title)),
        " ".join(scheme.document(body[:MAX_INDEXED_BODY_CHARS])),
    )


def derive(
    title: str, body: str, scheme: IndexScheme, summary: str = "", *, scored: bool = False
) -> Derived:
    """`scored`: with the text search scores the article on (`scored_text`)."""
    index_title, index_body = index_text(title, body, scheme)
    return Derived(
        index_title,
        index_body,
        to_signed(fingerprint(f"{title}\n{body}")),
        scheme.name,
        story_terms(title, summary),
        scored_text(title, body, scheme, index_title, index_body) if scored else None,
    )


def scored_text(
    title: str, body: str, scheme: IndexScheme, index_title: str, index_body: str
) -> tuple[str, str]:
    """The title and body start as `storage.search` scores them, as space-joined tokens, the
    same text its backend reads from the store (`SearchBackend.scored_text`): the start of the
    FTS5 index's token text (`SEQUENCE`), else the start of the title and body tokenized."""
    if scheme.name == SEQUENCE.name:
        return index_title[: 2 * SCORED_TITLE_CHARS], index_body[: 2 * SCORED_BODY_TOKENS]
    return sequence_text(title[:SCORED_TITLE_CHARS]), sequence_text(body[:SCORED_BODY_TOKENS])


def derived_of(record: ArticleRecord, scheme: IndexScheme, *, scored: bool = False) -> Derived:
    """The record's derived values, computed when it came without them (or for another
    index scheme, or without the `scored` text asked for)."""
    kept = record.derived
    if kept is not None and kept.scheme == scheme.name and (kept.scored or not scored):
        return kept
    body = body_text(record.paragraphs, record.digest)
    return derive(record.title, body, scheme, record.summary, scored=scored)


def with_derived(
    record: ArticleRecord, scheme: IndexScheme, *, scored: bool = False
) -> ArticleRecord:
    derived = derived_of(record, scheme, scored=scored)
    return record if derived is record.derived else replace(record, derived=derived)


def story_terms(title: str, summary: str) -> tuple[str, ...]:
    """A story's words as trending counts them: jieba's words of its title, then of its
    summary (two characters or more, no stop words, no bare numbers), each once."""
    words: dict[str, None] = {}
    for word in segment_words(f"{title}\n{summary}"):
        if (
            2 <= len(word) <= MAX_TERM_CHARS
            and not word.isdigit()
            and word not in STOP_WORDS
            and word not in words
        ):
            words[word] = None
            if len(words) >= MAX_TERMS_PER_STORY:
                break
    return tuple(words)

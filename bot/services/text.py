"""The summarizer's answers shaped for replies: longer summaries and query-biased snippets."""

from __future__ import annotations

from collections.abc import Sequence

from bot.summarize import snippet, summarize


def body_texts(paragraphs: Sequence[tuple[str, bool]]) -> list[str]:
    return [text for text, heading in paragraphs if not heading and text]


def longer_summary(
    title: str, paragraphs: Sequence[tuple[str, bool]], max_chars: int, digest: str | None = None
) -> str:
    return summarize(title, body_texts(paragraphs), max_chars=max_chars, digest=digest)


def query_snippet(
    title: str,
    paragraphs: Sequence[tuple[str, bool]],
    query: str,
    max_chars: int,
    fallback: str | None = None,
) -> tuple[str, tuple[tuple[int, int], ...]]:
    """The sentences that match the query, with the matches as spans for bold; the stored
    summary when nothing matches."""
    found = snippet(title, body_texts(paragraphs), query, max_chars=max_chars, fallback=fallback)
    return found.text, found.spans

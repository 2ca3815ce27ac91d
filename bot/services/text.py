"""The summarizer's answers shaped for replies: longer summaries and query-biased snippets."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.ingest.html_text import INVISIBLE
from bot.summarize import snippet, summarize

# Control characters (C0, C1), format characters and lone surrogates (JSON can carry them):
# Telegram shows none of them, and a store cannot encode the surrogates.
ARGUMENT_JUNK = re.compile(f"{INVISIBLE.pattern}|[\x80-\x9f\ud800-\udfff]")


def clean_query(text: str) -> str:
    """A query or an argument as the header shows it and the store reads it: junk characters
    dropped, white space made single spaces."""
    if ARGUMENT_JUNK.search(text):
        text = ARGUMENT_JUNK.sub("", text)
    return " ".join(text.split())


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

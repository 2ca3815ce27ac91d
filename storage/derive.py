"""Index tokens and fingerprint of an article's text: pure, so they can be computed anywhere.

The store writes exactly these values (see `storage.records.Derived`); index and query stay
segmented the same way because both come from the backend's `storage.tokenizer.IndexScheme`.
"""

from __future__ import annotations

from dataclasses import replace

from storage.dedup import fingerprint, to_signed
from storage.records import ArticleRecord, Derived, body_text
from storage.tokenizer import IndexScheme
from storage.trending import story_terms

# Only the start of a very long body is indexed: PostgreSQL refuses a tsvector over 1 MB.
MAX_INDEXED_BODY_CHARS = 30_000


def index_text(title: str, body: str, scheme: IndexScheme) -> tuple[str, str]:
    """Title and body as the index stores them: their tokens, joined by spaces."""
    return (
        " ".join(scheme.document(title)),
        " ".join(scheme.document(body[:MAX_INDEXED_BODY_CHARS])),
    )


def derive(title: str, body: str, scheme: IndexScheme, summary: str = "") -> Derived:
    index_title, index_body = index_text(title, body, scheme)
    return Derived(
        index_title,
        index_body,
        to_signed(fingerprint(f"{title}\n{body}")),
        scheme.name,
        story_terms(title, summary),
    )


def derived_of(record: ArticleRecord, scheme: IndexScheme) -> Derived:
    """The record's derived values, computed when it came without them (or for another
    index scheme)."""
    if record.derived is not None and record.derived.scheme == scheme.name:
        return record.derived
    return derive(record.title, body_text(record.paragraphs, record.digest), scheme, record.summary)


def with_derived(record: ArticleRecord, scheme: IndexScheme) -> ArticleRecord:
    derived = derived_of(record, scheme)
    return record if derived is record.derived else replace(record, derived=derived)

"""Index tokens and fingerprint of an article's text: pure, so they can be computed anywhere.

The store writes exactly these values (see `storage.records.Derived`); index and query stay
segmented the same way because both come from `storage.tokenizer`.
"""

from __future__ import annotations

from dataclasses import replace

from storage.dedup import fingerprint, to_signed
from storage.records import ArticleRecord, Derived, body_text
from storage.tokenizer import tokenize_document

# Only the start of a very long body is indexed: PostgreSQL refuses a tsvector over 1 MB.
MAX_INDEXED_BODY_CHARS = 30_000


def index_text(title: str, body: str) -> tuple[str, str]:
    """Title and body as the index stores them: their tokens, joined by spaces."""
    return (
        " ".join(tokenize_document(title)),
        " ".join(tokenize_document(body[:MAX_INDEXED_BODY_CHARS])),
    )


def derive(title: str, body: str) -> Derived:
    index_title, index_body = index_text(title, body)
    return Derived(index_title, index_body, to_signed(fingerprint(f"{title}\n{body}")))


def derived_of(record: ArticleRecord) -> Derived:
    """The record's derived values, computed when it came without them."""
    if record.derived is not None:
        return record.derived
    return derive(record.title, body_text(record.paragraphs, record.digest))


def with_derived(record: ArticleRecord) -> ArticleRecord:
    return record if record.derived is not None else replace(record, derived=derived_of(record))

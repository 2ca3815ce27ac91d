"""PostgreSQL's bag index, version 2, writes fewer lexemes per document: no character that
starts a bigram (a one-character query is the prefix match `字:*`) and no jieba words (no query
asks for them), a third fewer distinct lexemes, which are most of an ingest's index writes. A
version 1 document holds every token version 2 writes, and version 2's queries find the same
documents in it, so the store is not re-indexed: its tokenizer entry is renamed. SQLite's index
is another scheme and is left alone.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

V1 = "jieba-han-bigram 1"
V2 = "jieba-han-bigram 2"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute(f"UPDATE meta SET value = '{V2}' WHERE name = 'search.tokenizer' AND value = '{V1}'")


def downgrade() -> None:
    """Nothing: documents written since lack the characters version 1's queries ask for, so
    the entry stays at version 2 and the older code asks for `newsbot reindex`."""

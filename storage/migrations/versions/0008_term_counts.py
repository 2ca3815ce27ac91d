"""Trending terms counted at ingest: stories per term and hour, so `/trending` reads counts
instead of segmenting articles (see `storage.trending`); filled by `newsbot reindex`, or here
for a store that already has articles. Ingest runs say how they ended and which process ran
them, so one left unfinished by a dead process is marked interrupted.

Revision ID: 0008
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "term_buckets",
        sa.Column("term", sa.String(64), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("stories", sa.Integer(), nullable=False),
        sa.Column("source_lo", sa.Integer(), nullable=False),
        sa.Column("source_hi", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("term", "bucket", name="pk_term_buckets"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_term_buckets_bucket", "term_buckets", ["bucket", "term"])
    with op.batch_alter_table("ingest_runs") as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(20), nullable=True))
        batch_op.add_column(sa.Column("pid", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("host", sa.String(255), nullable=True))
    op.execute("UPDATE ingest_runs SET status = 'finished' WHERE finished_at IS NOT NULL")
    from storage.trending import rebuild_term_counts_sync

    rebuild_term_counts_sync(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("ingest_runs") as batch_op:
        batch_op.drop_column("host")
        batch_op.drop_column("pid")
        batch_op.drop_column("status")
    op.drop_index("ix_term_buckets_bucket", table_name="term_buckets")
    op.drop_table("term_buckets")

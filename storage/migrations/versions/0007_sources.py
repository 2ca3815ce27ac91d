"""Sources become rows (`sources`) that hold their schedule, health and read cursor; the
validators of `source_states` move onto them.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_TIME = storage.models.UTCDateTime(timezone=True)

_old = sa.table(
    "source_states",
    sa.column("source", sa.Text()),
    sa.column("etag", sa.Text()),
    sa.column("last_modified", sa.Text()),
    sa.column("fetched_at", _TIME),
)


def _sources_table() -> sa.Table:
    return op.create_table(
        "sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("added_by", sa.Text(), nullable=True),
        sa.Column("added_at", _TIME, nullable=False),
        sa.Column("interval_seconds", sa.Integer(), nullable=True),
        sa.Column("tz", sa.Text(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("last_run_at", _TIME, nullable=True),
        sa.Column("last_status", sa.String(length=20), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("items_seen", sa.Integer(), nullable=False),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.Text(), nullable=True),
        sa.Column("commit", sa.String(length=64), nullable=True),
        sa.Column("newest_item_at", _TIME, nullable=True),
        sa.Column("gap_count", sa.Integer(), nullable=False),
        sa.Column("gap_warned_at", _TIME, nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("next_run_at", _TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sources")),
        sa.UniqueConstraint("location", name=op.f("uq_sources_location")),
    )


def upgrade() -> None:
    sources = _sources_table()
    rows = op.get_bind().execute(sa.select(_old)).all()
    now = datetime.now(UTC)
    # Only fetched URLs had a state row; they were ingested by hand or from NEWSBOT_SOURCES,
    # which seeds (and enables) its own rows at start, so the moved rows start unscheduled.
    op.bulk_insert(
        sources,
        [
            {
                "kind": "url",
                "location": row.source,
                "added_by": "migration",
                "added_at": row.fetched_at or now,
                "enabled": False,
                "last_run_at": row.fetched_at,
                "items_seen": 0,
                "etag": row.etag,
                "last_modified": row.last_modified,
                "gap_count": 0,
                "consecutive_failures": 0,
            }
            for row in rows
        ],
    )
    op.drop_table("source_states")


def downgrade() -> None:
    op.create_table(
        "source_states",
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.Text(), nullable=True),
        sa.Column("fetched_at", _TIME, nullable=True),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_source_states")),
    )
    sources = sa.table(
        "sources",
        sa.column("location", sa.Text()),
        sa.column("etag", sa.Text()),
        sa.column("last_modified", sa.Text()),
        sa.column("last_run_at", _TIME),
    )
    rows = op.get_bind().execute(
        sa.select(sources).where(
            sa.or_(sources.c.etag.is_not(None), sources.c.last_modified.is_not(None))
        )
    )
    op.bulk_insert(
        _old,
        [
            {
                "source": row.location,
                "etag": row.etag,
                "last_modified": row.last_modified,
                "fetched_at": row.last_run_at,
            }
            for row in rows
        ],
    )
    op.drop_table("sources")

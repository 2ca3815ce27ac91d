"""Tag links carry the article's date, indexed for a tag's newest-first listing.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("article_tags") as batch_op:
        batch_op.add_column(sa.Column("published_at", storage.models.UTCDateTime(), nullable=True))
    op.execute(
        "UPDATE article_tags SET published_at ="
        " (SELECT published_at FROM articles WHERE articles.id = article_tags.article_id)"
    )
    with op.batch_alter_table("article_tags") as batch_op:
        batch_op.drop_index("ix_article_tags_tag_article")
        batch_op.create_index(
            "ix_article_tags_tag_published", ["tag_id", "published_at", "article_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("article_tags") as batch_op:
        batch_op.drop_index("ix_article_tags_tag_published")
        batch_op.create_index("ix_article_tags_tag_article", ["tag_id", "article_id"])
        batch_op.drop_column("published_at")

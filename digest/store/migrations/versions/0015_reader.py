"""A revocable key per reader for their private Atom feed of editions.

Revision ID: 0015_reader
Revises: 0010_delivery_truth
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_reader"
down_revision = "0010_delivery_truth"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "reader_feeds",
        sa.Column("subscriber_id", Id, sa.ForeignKey("subscribers.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("feed_key", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("reader_feeds")

"""A revocable key per reader for their private Atom feed of editions.

Revision ID: 0013_reader
Revises: 0012_mail_back
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_reader"
down_revision = "0012_mail_back"
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

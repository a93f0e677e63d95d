"""Mail that comes back: deliveries record what a later DSN or complaint said about them,
and every inbound message handled is one row of ``inbound_events``.

Revision ID: 0012_mail_back
Revises: 0011_trust
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_mail_back"
down_revision = "0011_trust"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("returned", sa.Text(), nullable=True))
        batch.add_column(sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "inbound_events",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("delivery_id", Id, sa.ForeignKey("deliveries.id", ondelete="CASCADE")),
        sa.Column("subscriber_id", Id, sa.ForeignKey("subscribers.id", ondelete="CASCADE")),
        sa.Column("fault", sa.String(16)),
        sa.Column("status", sa.String(16)),
        sa.Column("detail", sa.Text()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_inbound_events_created", "inbound_events", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_inbound_events_created", table_name="inbound_events")
    op.drop_table("inbound_events")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("returned_at")
        batch.drop_column("returned")

"""Deliveries count the attempts whose outcome stayed unknown (the reply to the end of DATA
never came), so such a message is sent at most once more.

Revision ID: 0010_delivery_truth
Revises: 0009_paper_version
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_delivery_truth"
down_revision = "0009_paper_version"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("outcome_unknown", sa.Integer(), nullable=False,
                                   server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("outcome_unknown")

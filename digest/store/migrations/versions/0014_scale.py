"""Partial indexes that let a claim walk the due deliveries in order and stop after a batch,
however many rows of the edition are sent already (store.claims).

Revision ID: 0014_scale
Revises: 0013_reader
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_scale"
down_revision = "0013_reader"
branch_labels = None
depends_on = None

NEW_WHERE = "state IN ('pending', 'retry') AND next_attempt_at IS NULL"
RETRY_WHERE = "state IN ('pending', 'retry', 'unknown') AND next_attempt_at IS NOT NULL"


def upgrade() -> None:
    op.create_index("ix_deliveries_new", "deliveries", ["id"],
                    sqlite_where=sa.text(NEW_WHERE), postgresql_where=sa.text(NEW_WHERE))
    op.create_index("ix_deliveries_retry", "deliveries", ["next_attempt_at", "id"],
                    sqlite_where=sa.text(RETRY_WHERE), postgresql_where=sa.text(RETRY_WHERE))


def downgrade() -> None:
    op.drop_index("ix_deliveries_retry", table_name="deliveries")
    op.drop_index("ix_deliveries_new", table_name="deliveries")

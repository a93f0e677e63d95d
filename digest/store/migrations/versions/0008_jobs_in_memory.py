"""The scheduler keeps its jobs in memory (every new leader adds them again): drop the table
APScheduler's SQLAlchemy job store used to create in the main database.

Revision ID: 0008_jobs_in_memory
Revises: 0007_embeddings
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_jobs_in_memory"
down_revision = "0007_embeddings"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("apscheduler_jobs"):
        op.drop_table("apscheduler_jobs")


def downgrade() -> None:
    pass  # APScheduler creates the table itself when a persistent job store asks for it

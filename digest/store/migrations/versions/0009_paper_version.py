"""Papers keep the newest arXiv version seen (``version``), so a revision digest shows is
marked "revised, vN".

Revision ID: 0009_paper_version
Revises: 0008_jobs_in_memory
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_paper_version"
down_revision = "0008_jobs_in_memory"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("papers") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("papers") as batch:
        batch.drop_column("version")

"""Stored profile vectors: each profile text's encoder vector, kept between editions.

Revision ID: 0015_profile_vectors
Revises: 0014_scale
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_profile_vectors"
down_revision = "0014_scale"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "profile_vectors",
        sa.Column("model", sa.String(64), primary_key=True),
        sa.Column("text_key", sa.String(64), primary_key=True),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_profile_vectors_used", "profile_vectors", ["used_at"])


def downgrade() -> None:
    op.drop_index("ix_profile_vectors_used", table_name="profile_vectors")
    op.drop_table("profile_vectors")

"""Paper embeddings record the encoder that made them.

Revision ID: 0007_embeddings
Revises: 0006_web
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_embeddings"
down_revision = "0006_web"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("papers") as batch:
        batch.add_column(sa.Column("embedding_model", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("papers") as batch:
        batch.drop_column("embedding_model")

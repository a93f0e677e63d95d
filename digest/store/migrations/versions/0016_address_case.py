"""An index on lower(email): subscribers are looked up by address in any letter case, so
"Victim@example.org" typed into the form finds the "victim@example.org" row instead of
making a second subscriber (and a second confirmation mail) for one mailbox.

Revision ID: 0016_address_case
Revises: 0015_profile_vectors
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_address_case"
down_revision = "0015_profile_vectors"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_subscribers_email_lower", "subscribers", [sa.text("lower(email)")])


def downgrade() -> None:
    op.drop_index("ix_subscribers_email_lower", table_name="subscribers")

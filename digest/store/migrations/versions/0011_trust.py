"""Trust: a random public id per subscriber that every link carries (ids can be reused on
SQLite, public ids never are), and the queue of visitor requests done off the request path.

Existing subscribers get a fresh public id each; their old links (integer id only) are
still read, but only for a subscriber created before the link was issued.

Revision ID: 0011_trust
Revises: 0010_delivery_truth
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0011_trust"
down_revision = "0010_delivery_truth"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN, not a batch table copy: on SQLite, dropping the old subscribers
    # table would cascade-delete every subscriber's feedback and deliveries.
    op.add_column("subscribers", sa.Column("public_id", sa.String(length=43), nullable=True))
    bind = op.get_bind()
    table = sa.table("subscribers", sa.column("id", sa.Integer), sa.column("public_id", sa.String))
    ids = [row[0] for row in bind.execute(sa.select(table.c.id))]
    for sid in ids:
        bind.execute(table.update().where(table.c.id == sid)
                     .values(public_id=secrets.token_urlsafe(16)))
    op.create_index("ux_subscribers_public_id", "subscribers", ["public_id"], unique=True)
    op.create_table(
        "visitor_requests",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True,
                  nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_visitor_requests_due", "visitor_requests", ["next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_visitor_requests_due", table_name="visitor_requests")
    op.drop_table("visitor_requests")
    op.drop_index("ux_subscribers_public_id", table_name="subscribers")
    with op.batch_alter_table("subscribers", recreate="never") as batch:
        batch.drop_column("public_id")

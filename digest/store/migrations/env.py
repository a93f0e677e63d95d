"""Alembic environment: runs against the connection digest hands it (see store.db)."""

from __future__ import annotations

from alembic import context

from digest.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - digest always passes its own connection
    raise RuntimeError("run migrations through `digest db upgrade`")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()

"""The house's guard on the schema: the tables in ``store/schema.py`` are exactly what the
Alembic migrations build, on both backends (a column added to one and not the other fails)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

from digest.store.schema import metadata


def test_schema_and_migrations_agree(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    assert differences == []

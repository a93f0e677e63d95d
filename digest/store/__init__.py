"""The store: SQLAlchemy Core over SQLite (default) or PostgreSQL, migrated by Alembic."""

from digest.store.db import open_store

__all__ = ["open_store"]

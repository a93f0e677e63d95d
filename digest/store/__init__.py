"""The store: SQLAlchemy Core over SQLite (default) or PostgreSQL, migrated by Alembic.

The only package that speaks SQL. Its errors leave as ``StoreError`` subclasses (see
``store.guard``); ``Engine`` is the handle the composition root opens and hands around.
"""

from sqlalchemy import Engine

from digest.store.db import open_store

__all__ = ["Engine", "open_store"]

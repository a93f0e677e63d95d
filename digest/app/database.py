"""Use case: ``digest db upgrade`` — bring the database schema to the newest migration."""

from __future__ import annotations

from digest.store.db import create_store_engine, upgrade
from digest.store.guard import shown_url


def upgrade_database(url: str) -> tuple[str, str]:
    """Apply pending migrations to the database at ``url``; returns (revision, the URL with
    its password masked). Raises ConfigError for a bad URL, StoreError when it fails."""
    engine = create_store_engine(url)
    try:
        return upgrade(engine), shown_url(engine)
    finally:
        engine.dispose()

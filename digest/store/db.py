"""Opening the database: engine creation (SQLite or PostgreSQL) and Alembic migrations.

Migrations run automatically when digest opens the store, so a fresh checkout needs no
setup step; ``digest db upgrade`` runs the same thing explicitly.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from digest.errors import ConfigError, StoreError
from digest.store.guard import READ_ONLY, guarded, reading

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Workers that start together on a fresh PostgreSQL database take this transaction-level
# advisory lock before migrating, so one migrates and the others then find it done (without
# it, the second `CREATE TABLE` failed with a unique violation).
MIGRATION_LOCK = int.from_bytes(hashlib.sha256(b"digest:migrations").digest()[:8], "big") >> 1


def create_store_engine(url: str) -> Engine:
    """An Engine for ``url``; SQLite gets WAL, a busy timeout and foreign keys."""
    kwargs: dict[str, Any] = {"future": True}
    if url.startswith("sqlite"):
        # Several processes (two `digest send`s, the service and the CLI) share one file:
        # wait for locks instead of failing at once.
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(url, **kwargs)
    except (ArgumentError, NoSuchModuleError) as exc:
        raise ConfigError(f"DIGEST_DATABASE_URL: cannot use {url!r} ({exc})") from exc
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"DIGEST_DATABASE_URL: driver missing for {url.split(':')[0]} "
            "(for PostgreSQL install the extra: pip install 'digest[postgres]')"
        ) from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; take control so that
        # "BEGIN IMMEDIATE" can serialize writers (see store.ledger).
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    # A connection marked read-only takes no write lock: pysqlite is in autocommit mode
    # (see _sqlite_pragmas), so each of its statements is its own snapshot under WAL.
    if not conn.get_execution_options().get(READ_ONLY):
        # Straight to the driver: it runs before every write, and the statement needs
        # none of SQLAlchemy's execution machinery.
        conn.connection.driver_connection.execute("BEGIN IMMEDIATE")


def _alembic_config(engine_conn: Any) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = engine_conn
    return cfg


def upgrade(engine: Engine) -> str:
    """Apply every pending migration; returns the revision the database is now at.

    Raises a ``StoreError`` subclass (see store.guard) when the database cannot be migrated.
    """
    with guarded(engine), engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # SQLite: BEGIN IMMEDIATE serializes already
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
        command.upgrade(_alembic_config(conn), "head")
    return current_revision(engine) or "base"


def current_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at (None for an empty database); reads only."""
    with reading(engine) as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    script = ScriptDirectory.from_config(_alembic_config(None))
    head = script.get_current_head()
    assert head is not None
    return head


def open_store(url: str) -> Engine:
    """Create the engine and bring the schema up to date (the usual way in).

    Raises ConfigError for a URL digest cannot use, a ``StoreError`` subclass when the
    database cannot be read or migrated.
    """
    engine = create_store_engine(url)
    if current_revision(engine) != head_revision():
        upgrade(engine)
    return engine


def ping(engine: Engine) -> bool:
    """Whether the database answers a trivial read (takes no write lock); never raises."""
    try:
        with reading(engine) as conn:
            conn.execute(text("SELECT 1"))
    except StoreError:
        return False
    return True

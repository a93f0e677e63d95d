"""Two `digest db upgrade` processes started together on a fresh PostgreSQL database: one
migrates, the other waits for it and then finds the schema at head; both succeed (before the
migration lock, one failed with a unique violation creating the same table)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from digest.store.db import MIGRATION_LOCK, create_store_engine, current_revision, head_revision
from tests.conftest import _reset_pg

pytestmark = pytest.mark.postgres


def _waiting(conn: object) -> int:
    query = text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
    return int(conn.execute(query).scalar_one())  # type: ignore[attr-defined]


def test_concurrent_upgrades_migrate_once(pg_database: str, tmp_path: Path) -> None:
    _reset_pg(pg_database)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    env["DIGEST_DATABASE_URL"] = pg_database
    holder = create_engine(pg_database, isolation_level="AUTOCOMMIT")
    with holder.connect() as conn:
        # Hold the migration lock so both processes reach it before either may migrate.
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK})
        procs = [subprocess.Popen([sys.executable, "-m", "digest.cli", "db", "upgrade"],
                                  cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
        deadline = time.monotonic() + 120
        while _waiting(conn) < 2 and time.monotonic() < deadline:
            assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
            time.sleep(0.2)
        assert _waiting(conn) == 2
        assert "alembic_version" not in inspect(conn).get_table_names()
        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK})
    outputs = [p.communicate(timeout=120) for p in procs]
    holder.dispose()
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert all(f"revision {head_revision()}" in out for out, _ in outputs), outputs
    engine = create_store_engine(pg_database)
    assert current_revision(engine) == head_revision()
    engine.dispose()

"""The store translates database failures into one ``StoreError`` kind each, and the faces
turn them into one line and an exit code (75 = try again later, 1 = needs a person), never a
traceback; read-only commands take no write lock.

The failures are real ones: a second SQLite connection holding the write lock, a file that
is not a database, a page limit that fills the "disk", a PostgreSQL port nobody listens on.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from digest.config import load_settings
from digest.errors import StoreCorrupt, StoreFull, StoreLocked, StoreUnavailable
from digest.runtime import Runtime
from digest.store.db import open_store
from digest.store.guard import translate
from digest.web import create_app
from tests.smtp_sink import free_port


def digest(*args: str, cwd: Path, url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    env.update(DIGEST_DATABASE_URL=url, DIGEST_SECRET_KEY="k" * 32)
    return subprocess.run([sys.executable, "-m", "digest.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def held_write_lock(tmp_path: Path) -> Iterator[Path]:
    """A migrated SQLite store whose write lock another connection holds throughout."""
    path = tmp_path / "digest.db"
    open_store(f"sqlite:///{path}").dispose()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield path
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_held_write_lock_is_store_locked_and_temporary(held_write_lock: Path) -> None:
    waiter = sqlite3.connect(held_write_lock, timeout=0, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError) as raw:
        waiter.execute("BEGIN IMMEDIATE")
    waiter.close()
    error = translate(OperationalError("BEGIN IMMEDIATE", {}, raw.value))
    assert isinstance(error, StoreLocked) and error.temporary
    assert "locked" in str(error)


def test_status_and_healthz_answer_while_another_process_writes(held_write_lock: Path,
                                                                tmp_path: Path) -> None:
    url = f"sqlite:///{held_write_lock}"
    result = digest("status", "--json", cwd=tmp_path, url=url)
    assert result.returncode == 0, result.stderr  # a write lock would wait, then fail (75)
    rt = Runtime(load_settings(database_url=url, secret_key="k" * 32))
    try:
        assert TestClient(create_app(rt)).get("/healthz").status_code == 200
    finally:
        rt.close()


def test_a_file_that_is_not_a_database_is_one_line_and_exit_1(tmp_path: Path) -> None:
    path = tmp_path / "digest.db"
    path.write_bytes(b"this is a text file, not an SQLite database\n" * 200)
    with pytest.raises(StoreCorrupt):
        open_store(f"sqlite:///{path}")
    for command in (["status"], ["subscribers", "list"], ["send"]):
        result = digest(*command, cwd=tmp_path, url=f"sqlite:///{path}")
        assert result.returncode == 1, (command, result.stderr)
        line = one_line(result)
        assert "damaged or is not a digest database" in line and str(path) in line


def test_a_full_disk_is_store_full(tmp_path: Path) -> None:
    # SQLite's own limit on pages is how a full disk looks to it: SQLITE_FULL.
    conn = sqlite3.connect(tmp_path / "small.db", isolation_level=None)
    conn.execute("PRAGMA max_page_count = 2")
    with pytest.raises(sqlite3.OperationalError) as raw:
        for i in range(100):
            conn.execute(f"CREATE TABLE t{i} (x TEXT)")
    conn.close()
    error = translate(OperationalError("CREATE TABLE", {}, raw.value))
    assert isinstance(error, StoreFull) and not error.temporary


def test_a_database_server_nobody_answers_is_exit_75(tmp_path: Path) -> None:
    pytest.importorskip("psycopg")
    url = f"postgresql+psycopg://digest@127.0.0.1:{free_port()}/digest?connect_timeout=3"
    with pytest.raises(StoreUnavailable):
        open_store(url)
    result = digest("status", cwd=tmp_path, url=url)
    assert result.returncode == 75, result.stderr
    line = one_line(result)
    assert "database error" in line and "127.0.0.1" in line

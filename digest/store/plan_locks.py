"""Planning shared across workers: a batch of subscribers is ranked by whichever worker
locks it first; the others skip to the next batch (as ``FOR UPDATE SKIP LOCKED`` does for
sending).

PostgreSQL: a session-level advisory lock per batch key, on a connection held while the
batch is ranked and written. SQLite: a POSIX byte-range lock per batch key on a lock file
beside the database (``<file>-plan.lock``), so planning processes on the one machine that
can share a SQLite file split the batches too; either lock goes with its holder if it dies.
Where neither applies (an in-memory database, no ``fcntl``), every batch is "ours" and the
ledger's unique row still stops a second plan.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text

from digest.store.guard import guarded

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: SQLite batches are never shared
    fcntl = None  # type: ignore[assignment]

# One descriptor per lock file for the life of the process: POSIX record locks belong to the
# process, and closing any descriptor of the file would drop all of them.
_FILES: dict[Path, int] = {}
_RANGE = 1 << 40  # byte offsets a key maps to: collisions need ~1M batches at once


def lock_key(name: str) -> int:
    """A signed 64-bit advisory lock key for ``name`` (prefixed so it never meets the
    scheduler's or the migrations' keys)."""
    return int.from_bytes(hashlib.sha256(f"digest:plan:{name}".encode()).digest()[:8],
                          "big") >> 1


def lock_file(engine: Engine) -> Path | None:
    """The SQLite database's batch lock file, or None (in-memory database, not SQLite)."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if fcntl is None or not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).resolve().with_name(Path(database).name + "-plan.lock")


def _descriptor(path: Path) -> int:
    fd = _FILES.get(path)
    if fd is None:
        fd = _FILES[path] = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    return fd


@contextmanager
def batch_lock(engine: Engine, name: str) -> Iterator[bool]:
    """Yields True when this worker holds batch ``name`` for the block, False at once when
    another worker does. Raises StoreError when the database fails."""
    if engine.dialect.name != "postgresql":
        with _file_lock(lock_file(engine), lock_key(name) % _RANGE) as got:
            yield got
        return
    key = lock_key(name)
    with guarded(engine), engine.connect() as conn:
        got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
        conn.commit()
        try:
            yield got
        finally:
            if got:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()


@contextmanager
def _file_lock(path: Path | None, offset: int) -> Iterator[bool]:
    if path is None or fcntl is None:
        yield True
        return
    try:
        fd = _descriptor(path)
    except OSError:  # a read-only folder: the ledger's unique rows still guard
        yield True
        return
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset)
    except OSError:  # EAGAIN / EACCES: another process holds this batch
        yield False
        return
    try:
        yield True
    finally:
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, offset)

"""The scheduler's leader lock: exactly one process runs the scheduler.

Implements ``schedule.leadership.Leadership``.
PostgreSQL: a session-level advisory lock held on a dedicated connection for the leader's
life; when that process dies the server drops the lock and another node takes it.
SQLite: an exclusive ``flock`` on a file next to the database (one machine by definition).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from digest.errors import StoreError
from digest.store.guard import reading

# A fixed 63-bit key derived from a name, so unrelated apps on the same server don't clash.
LOCK_KEY = int.from_bytes(hashlib.sha256(b"digest:scheduler-leader").digest()[:8], "big") >> 1


class PgLeadership:
    """A session-level advisory lock on a connection held for the leader's life."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.conn: Connection | None = None

    def acquire(self) -> bool:
        try:
            if self.conn is None:
                self.conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            got = self.conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY})
            if bool(got.scalar()):
                return True
        except SQLAlchemyError:
            self._drop()
        return False

    def alive(self) -> bool:
        """Is our lock connection still up? If it broke, the server has released the lock."""
        if self.conn is None:
            return False
        try:
            self.conn.execute(text("SELECT 1"))
            return True
        except SQLAlchemyError:
            self._drop()
            return False

    def release(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(SQLAlchemyError):  # a lost session holds no lock
                self.conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
        self._drop()

    def _drop(self) -> None:
        if self.conn is not None:
            try:
                self.conn.invalidate()
                self.conn.close()
            except SQLAlchemyError:
                pass
        self.conn = None


class FileLeadership:
    """An exclusive ``flock`` on ``<database>.leader`` (SQLite: one machine by definition)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.handle: IO[str] | None = None

    def acquire(self) -> bool:
        if self.path is None:  # in-memory database: this process is the only one
            return True
        handle = open(self.path, "a+")  # noqa: SIM115 - held for the leader's life
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self.handle = handle
        return True

    def alive(self) -> bool:
        return self.path is None or self.handle is not None

    def release(self) -> None:
        if self.handle is not None:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None


def _sqlite_lock_path(engine: Engine) -> Path | None:
    database = engine.url.database
    if not database or database == ":memory:":
        return None
    return Path(database).with_name(Path(database).name + ".leader")


def leadership_for(engine: Engine) -> PgLeadership | FileLeadership:
    """The leader lock that fits this database."""
    if engine.dialect.name == "postgresql":
        return PgLeadership(engine)
    return FileLeadership(_sqlite_lock_path(engine))


def leader_present(engine: Engine) -> bool | None:
    """Whether some process holds the scheduler lock right now (None: cannot tell)."""
    if engine.dialect.name == "postgresql":
        # Advisory locks belong to one database; pg_locks lists every database's, so a
        # scheduler of another digest on the same server must not count as ours.
        query = text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                     "AND classid = :hi AND objid = :lo AND objsubid = 1 AND database = "
                     "(SELECT oid FROM pg_database WHERE datname = current_database())")
        try:
            with reading(engine) as conn:
                n = conn.execute(query, {"hi": LOCK_KEY >> 32, "lo": LOCK_KEY & 0xFFFFFFFF}).scalar()
            return bool(n)
        except StoreError:
            return None
    probe = FileLeadership(_sqlite_lock_path(engine))
    if probe.path is None or not probe.path.exists():
        return False if probe.path is not None else None
    handle = open(probe.path, "a+")  # noqa: SIM115
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        handle.close()  # closing drops our probe lock if we got it
    return False

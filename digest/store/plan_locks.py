"""Planning shared across workers: a batch of subscribers is ranked by whichever worker
locks it first; the others skip to the next batch (as ``FOR UPDATE SKIP LOCKED`` does for
sending).

PostgreSQL: a session-level advisory lock per batch key, on a connection held while the
batch is ranked and written. SQLite: one machine whose writers queue anyway, so every batch
is "ours" and the ledger's unique row still stops a second plan.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text

from digest.store.guard import guarded


def lock_key(name: str) -> int:
    """A signed 64-bit advisory lock key for ``name`` (prefixed so it never meets the
    scheduler's or the migrations' keys)."""
    return int.from_bytes(hashlib.sha256(f"digest:plan:{name}".encode()).digest()[:8],
                          "big") >> 1


@contextmanager
def batch_lock(engine: Engine, name: str) -> Iterator[bool]:
    """Yields True when this worker holds batch ``name`` for the block, False at once when
    another worker does. Raises StoreError when the database fails."""
    if engine.dialect.name != "postgresql":
        yield True
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

"""Fixed-window rate limits kept in the store, so every server process shares them."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, select, update

from digest.errors import StoreConflict
from digest.store.guard import writing
from digest.store.schema import rate_limits

_FORGET_AFTER = timedelta(days=2)  # longer than any window in use


def hit(engine: Engine, key: str, *, limit: int, window: int, now: datetime) -> int:
    """Count one event for ``key``; returns 0 if allowed, else seconds until it would be."""
    length = timedelta(seconds=window)
    c = rate_limits.c
    for attempt in range(2):
        try:
            with writing(engine) as conn:
                row = conn.execute(select(c.window_start, c.count).where(c.key == key)).first()
                if row is None:
                    conn.execute(delete(rate_limits).where(c.window_start < now - _FORGET_AFTER))
                    conn.execute(rate_limits.insert().values(key=key, window_start=now, count=1))
                    return 0
                if row.window_start <= now - length:
                    conn.execute(update(rate_limits).where(c.key == key)
                                 .values(window_start=now, count=1))
                    return 0
                # Conditional increment: two racing requests cannot both take the last slot.
                result = conn.execute(update(rate_limits).where(c.key == key, c.count < limit)
                                      .values(count=c.count + 1))
                if result.rowcount:
                    return 0
                return max(1, int((row.window_start + length - now).total_seconds()) + 1)
        except StoreConflict:  # another process inserted the same key first
            if attempt:
                raise
    return 0


def forget(engine: Engine, key: str) -> None:
    """Drop a key's count: the event it counted did not happen after all (mail failed)."""
    with writing(engine) as conn:
        conn.execute(delete(rate_limits).where(rate_limits.c.key == key))

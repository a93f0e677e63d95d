"""Profile vectors kept between editions: the encoder's vector of each profile text, so a
weekly edition encodes only readers whose interests are new or changed.

Rows are keyed by the encoder's name and the text's SHA-256 (``text_key``): another model or
an edited interest is simply a miss. Two workers may encode the same text at once; the
second insert is ignored (same model, same text, same vector up to float noise).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from digest.store.guard import reading, writing
from digest.store.schema import profile_vectors as table

_CHUNK = 500  # keys per IN (...): under SQLite's bound-parameter limit
# A row read again within this long keeps its used_at: at most one refresh a day per text,
# not one write per text per edition.
TOUCH_EVERY = timedelta(days=1)


def read_profile_vectors(engine: Engine, model: str, keys: Sequence[str], *,
                         now: datetime) -> dict[str, bytes]:
    """Stored blobs of ``model`` for these text keys (missing keys are absent); marks the
    found rows used at ``now`` when their mark is older than TOUCH_EVERY. Raises StoreError."""
    found: dict[str, bytes] = {}
    stale: list[str] = []
    with reading(engine) as conn:
        for start in range(0, len(keys), _CHUNK):
            chunk = list(keys[start:start + _CHUNK])
            query = select(table.c.text_key, table.c.vector, table.c.used_at).where(
                table.c.model == model, table.c.text_key.in_(chunk))
            for key, blob, used in conn.execute(query):
                found[key] = bytes(blob)
                if used < now - TOUCH_EVERY:
                    stale.append(key)
    if stale:
        with writing(engine) as conn:
            for start in range(0, len(stale), _CHUNK):
                conn.execute(update(table).where(
                    table.c.model == model, table.c.text_key.in_(stale[start:start + _CHUNK]))
                    .values(used_at=now))
    return found


def save_profile_vectors(engine: Engine, model: str, blobs: Mapping[str, bytes], *,
                         now: datetime) -> None:
    """Store text key -> blob rows of ``model`` in one transaction; a key another worker
    stored first is left as it is. Raises StoreError."""
    if not blobs:
        return
    rows = [{"model": model, "text_key": k, "vector": v, "used_at": now} for k, v in blobs.items()]
    with writing(engine) as conn:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        conn.execute(dialect.insert(table).on_conflict_do_nothing(), rows)


def prune_profile_vectors(engine: Engine, *, unused_since: datetime) -> int:
    """Forget vectors no edition has read since ``unused_since`` (interests that were
    changed or readers who left); returns how many rows went. Raises StoreError."""
    with writing(engine) as conn:
        result = conn.execute(delete(table).where(table.c.used_at < unused_since))
    return int(result.rowcount or 0)

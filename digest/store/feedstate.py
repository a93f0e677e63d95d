"""Per-feed fetch state: validators for conditional GET and the outcome of the last fetch."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select, update

from digest.store.guard import reading, writing
from digest.store.schema import feeds


@dataclass(frozen=True, slots=True)
class FeedState:
    url: str
    name: str
    etag: str | None = None
    last_modified: str | None = None
    last_fetched_at: datetime | None = None
    last_ok_at: datetime | None = None
    last_status: str | None = None
    last_error: str | None = None
    last_entries: int | None = None
    consecutive_failures: int = 0
    body_hash: str | None = None


def get_feed_state(engine: Engine, url: str) -> FeedState | None:
    with reading(engine) as conn:
        row = conn.execute(select(feeds).where(feeds.c.url == url)).first()
    return FeedState(**row._mapping) if row else None


def list_feed_states(engine: Engine) -> list[FeedState]:
    with reading(engine) as conn:
        return [FeedState(**r._mapping) for r in conn.execute(select(feeds).order_by(feeds.c.name))]


def record_fetch(engine: Engine, *, url: str, name: str, now: datetime, status: str,
                 error: str | None = None, entries: int | None = None,
                 etag: str | None = None, last_modified: str | None = None,
                 body_hash: str | None = None) -> None:
    """Remember how a fetch went. ``status`` is ok, not_modified or error; validators are
    only replaced when the server sent new ones, so a failed fetch keeps the old ones.
    ``body_hash`` is kept only for a body parsed without error (so a bad body is re-read)."""
    ok = status in ("ok", "not_modified")
    with writing(engine) as conn:
        old = conn.execute(select(feeds).where(feeds.c.url == url)).first()
        values = {
            "name": name, "last_fetched_at": now, "last_status": status,
            "last_error": error[:2000] if error else None,
        }
        if entries is not None:
            values["last_entries"] = entries
        if ok:
            values["last_ok_at"] = now
            values["consecutive_failures"] = 0
            if etag is not None:
                values["etag"] = etag
            if last_modified is not None:
                values["last_modified"] = last_modified
            if body_hash is not None:
                values["body_hash"] = body_hash
        else:
            values["body_hash"] = None
        if old is None:
            failures = 0 if ok else 1
            values.setdefault("consecutive_failures", failures)
            conn.execute(feeds.insert().values(url=url, **values))
        else:
            if not ok:
                values["consecutive_failures"] = (old.consecutive_failures or 0) + 1
            conn.execute(update(feeds).where(feeds.c.url == url).values(**values))

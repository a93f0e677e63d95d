"""The queue of visitor requests (a sign-up, "send me my link") that the web answers at once
and a worker does later, off the request path (see ``digest.app.visitor_requests``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, select, update

from digest.store.guard import reading, writing
from digest.store.schema import visitor_requests

_c = visitor_requests.c


@dataclass(frozen=True, slots=True)
class VisitorRequest:
    """One queued request: its kind ("subscribe", "link"), the validated form, attempts so
    far."""

    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int


def enqueue(engine: Engine, kind: str, payload: dict[str, Any], *, now: datetime) -> int:
    """Queue one request, due at once; returns its id."""
    with writing(engine) as conn:
        result = conn.execute(visitor_requests.insert().values(
            kind=kind, payload=payload, created_at=now, attempts=0, next_attempt_at=now))
        key = result.inserted_primary_key
        assert key is not None  # a single-row insert always reports its primary key
        return int(key[0])


def claim_due(engine: Engine, *, now: datetime, lease: timedelta,
              limit: int = 20) -> list[VisitorRequest]:
    """Take up to ``limit`` due requests, oldest first, for ``lease``: each is moved to
    ``now + lease`` by a conditional update, so two workers never take the same one (a
    worker that dies leaves it due again when the lease ends)."""
    with reading(engine) as conn:
        rows = conn.execute(select(_c.id, _c.kind, _c.payload, _c.attempts, _c.next_attempt_at)
                            .where(_c.next_attempt_at <= now)
                            .order_by(_c.next_attempt_at, _c.id).limit(limit)).all()
    taken: list[VisitorRequest] = []
    for row in rows:
        with writing(engine) as conn:
            done = conn.execute(update(visitor_requests)
                                .where(_c.id == row.id, _c.next_attempt_at == row.next_attempt_at)
                                .values(next_attempt_at=now + lease))
        if done.rowcount == 1:
            taken.append(VisitorRequest(int(row.id), str(row.kind), dict(row.payload),
                                        int(row.attempts)))
    return taken


def finish(engine: Engine, request_id: int) -> None:
    """The request is done (or given up): forget it, address included."""
    with writing(engine) as conn:
        conn.execute(delete(visitor_requests).where(_c.id == request_id))


def retry_later(engine: Engine, request_id: int, *, at: datetime, error: str) -> None:
    """The request failed for now (the relay is down): try again at ``at``."""
    with writing(engine) as conn:
        conn.execute(update(visitor_requests).where(_c.id == request_id).values(
            attempts=_c.attempts + 1, next_attempt_at=at, last_error=error[:1000]))


def pending_count(engine: Engine) -> int:
    """How many requests wait (due or not)."""
    from sqlalchemy import func

    with reading(engine) as conn:
        return int(conn.execute(select(func.count()).select_from(visitor_requests)).scalar_one())

"""What the ledger says about each subscriber's past editions, and service housekeeping.

Read side for scheduling (last edition, when they joined) plus the few writes the service
needs on its own: releasing a dead worker's leases and expiring stale sign-ups.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, delete, func, select

from digest.editions import LastEdition
from digest.store.guard import reading, writing
from digest.store.schema import deliveries, editions, subscribers

PROMISED = ("sent", "sending", "pending", "retry")


def last_editions(engine: Engine) -> dict[int, LastEdition]:
    """Each subscriber's newest ledger row (any state), keyed by subscriber id."""
    newest = (select(func.max(deliveries.c.id).label("id"))
              .group_by(deliveries.c.subscriber_id).subquery())
    query = (
        select(deliveries.c.subscriber_id, deliveries.c.created_at, deliveries.c.state,
               editions.c.key)
        .join(newest, newest.c.id == deliveries.c.id)
        .join(editions, editions.c.id == deliveries.c.edition_id)
    )
    with reading(engine) as conn:
        return {r.subscriber_id: LastEdition(key=r.key, planned_at=r.created_at,
                                             delivered=r.state in PROMISED)
                for r in conn.execute(query)}


def last_delivered_at(engine: Engine) -> dict[int, datetime]:
    """When each subscriber's newest edition that actually went (or is going) out was planned."""
    query = (select(deliveries.c.subscriber_id, func.max(deliveries.c.created_at))
             .where(deliveries.c.state.in_(PROMISED))
             .group_by(deliveries.c.subscriber_id))
    with reading(engine) as conn:
        return {sid: _aware(at) for sid, at in conn.execute(query)}


def active_since(engine: Engine) -> dict[int, datetime]:
    """When each active subscriber confirmed (their first edition can't be owed before)."""
    query = select(subscribers.c.id, subscribers.c.confirmed_at).where(
        subscribers.c.status == "active", subscribers.c.confirmed_at.is_not(None))
    with reading(engine) as conn:
        return {sid: at for sid, at in conn.execute(query)}


def expire_pending(engine: Engine, *, created_before: datetime) -> int:
    """Delete sign-ups never confirmed since ``created_before``: an unconfirmed address is
    someone else's data we have no consent to keep."""
    with writing(engine) as conn:
        result = conn.execute(delete(subscribers).where(
            subscribers.c.status == "pending", subscribers.c.created_at < created_before))
        return int(result.rowcount)


def _aware(value: datetime) -> datetime:
    # func.max() bypasses the UTCDateTime type on SQLite, which then hands back a string.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

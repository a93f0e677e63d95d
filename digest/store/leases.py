"""Leases on the delivery ledger: keep them while sending, give them back, see who holds
what, and take back at once the rows of a sender known to be dead.

Each leased row carries its holder's owner id (``host:pid:rand:space``, see send.owners) and
when the lease runs out. A live sender renews its leases; a crashed one's expire, or are
expired at once by a sender on the same machine that sees the holder's process is gone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, func, select, update
from sqlalchemy.sql.elements import ColumnElement

from digest.models import LeaseHolder
from digest.store.claims import Bind, _read, _write
from digest.store.guard import reading
from digest.store.ledger import DEFAULT_LEASE
from digest.store.schema import deliveries


def _leased_by(delivery_ids: Sequence[int], owner: str) -> ColumnElement[bool]:
    """Rows among ``delivery_ids`` that ``owner`` still holds (a reclaimed row is not ours)."""
    return and_(deliveries.c.id.in_(list(delivery_ids)), deliveries.c.lease_owner == owner,
                deliveries.c.state == "sending")


def renew_leases(bind: Bind, delivery_ids: Sequence[int], *, owner: str, now: datetime,
                 lease: timedelta = DEFAULT_LEASE) -> int:
    """Extend our leases so a slow send is never mistaken for a crashed one."""
    if not delivery_ids:
        return 0
    with _write(bind) as conn:
        result = conn.execute(
            update(deliveries)
            .where(_leased_by(delivery_ids, owner))
            .values(lease_expires_at=now + lease)
        )
        return int(result.rowcount)


def release(bind: Bind, delivery_ids: Sequence[int], *, owner: str, now: datetime,
            note: str | None = None) -> int:
    """Give leased rows back untouched (a graceful stop): due again at once, the attempt not
    counted; ``note`` (why) becomes the row's last error when given. Returns how many."""
    if not delivery_ids:
        return 0
    values = {"state": "retry", "lease_owner": None, "lease_expires_at": None,
              "attempts": deliveries.c.attempts - 1, "next_attempt_at": None,
              "updated_at": now}
    if note:
        values["last_error"] = note[:1000]
    with _write(bind) as conn:
        result = conn.execute(update(deliveries).where(_leased_by(delivery_ids, owner))
                              .values(**values))
        return int(result.rowcount)


def leased_by(engine: Engine, owner: str) -> list[int]:
    """Delivery rows this worker still holds (to release them on shutdown)."""
    query = select(deliveries.c.id).where(deliveries.c.lease_owner == owner,
                                          deliveries.c.state == "sending")
    with reading(engine) as conn:
        return [int(i) for (i,) in conn.execute(query)]


def lease_holders(bind: Bind, *, now: datetime) -> list[LeaseHolder]:
    """Every sender with unexpired leases, biggest holder first."""
    query = (select(deliveries.c.lease_owner, func.count(), func.max(deliveries.c.lease_expires_at))
             .where(deliveries.c.state == "sending", deliveries.c.lease_expires_at >= now,
                    deliveries.c.lease_owner.is_not(None))
             .group_by(deliveries.c.lease_owner))
    with _read(bind) as conn:
        rows = conn.execute(query).all()
    holders = [LeaseHolder(str(owner), int(n), until) for owner, n, until in rows]
    return sorted(holders, key=lambda h: (-h.rows, h.owner))


def expire_leases(bind: Bind, owner: str, *, now: datetime) -> int:
    """End every lease ``owner`` holds now, so its rows are due at once (their attempt still
    counts: the holder may have sent one of them before it died). Returns how many."""
    with _write(bind) as conn:
        result = conn.execute(
            update(deliveries)
            .where(deliveries.c.lease_owner == owner, deliveries.c.state == "sending",
                   deliveries.c.lease_expires_at >= now)
            .values(lease_expires_at=now - timedelta(seconds=1)))
        return int(result.rowcount)

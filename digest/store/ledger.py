"""The delivery ledger: one row per (edition, subscriber), claimed under a lease.

States: pending -> sending (leased) -> sent | retry | failed | suppressed | skipped.
Claims are atomic: PostgreSQL uses ``FOR UPDATE SKIP LOCKED``; SQLite serializes writers
with ``BEGIN IMMEDIATE`` (see store.db), so two senders never hold the same row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from digest.models import EditionInfo
from digest.store.schema import deliveries, editions

OPEN_STATES = ("pending", "retry")
FINAL_STATES = ("sent", "failed", "suppressed", "skipped")


@dataclass(frozen=True, slots=True)
class Claim:
    """A delivery this worker holds the lease on."""

    id: int
    edition_id: int
    edition_key: str
    subscriber_id: int
    picks: tuple[dict[str, Any], ...]  # {"id", "score", "reasons"}, best first
    quiet: bool
    attempts: int


def ensure_edition(engine: Engine, info: EditionInfo, *, now: datetime) -> int:
    """The id of the edition with ``info.key``, creating it if needed (race-safe)."""
    query = select(editions.c.id).where(editions.c.key == info.key)
    with engine.begin() as conn:
        found = conn.execute(query).scalar()
        if found is not None:
            return int(found)
    try:
        with engine.begin() as conn:
            result = conn.execute(
                editions.insert().values(
                    key=info.key, frequency=info.frequency, period_start=info.period_start,
                    period_end=info.period_end, created_at=now,
                )
            )
            return int(result.inserted_primary_key[0])
    except IntegrityError:  # another worker created it between our read and write
        with engine.begin() as conn:
            return int(conn.execute(query).scalar_one())


def add_delivery(engine: Engine, *, edition_id: int, subscriber_id: int,
                 picks: Sequence[dict[str, Any]], quiet: bool, now: datetime,
                 state: str = "pending", note: str | None = None) -> bool:
    """Record that this subscriber gets this edition; False if the row already exists."""
    try:
        with engine.begin() as conn:
            conn.execute(
                deliveries.insert().values(
                    edition_id=edition_id, subscriber_id=subscriber_id, state=state,
                    picks=list(picks), quiet=int(quiet), attempts=0,
                    last_error=note, created_at=now, updated_at=now,
                )
            )
        return True
    except IntegrityError:
        return False


def has_delivery(engine: Engine, *, edition_id: int, subscriber_id: int) -> bool:
    with engine.connect() as conn:
        query = select(deliveries.c.id).where(
            deliveries.c.edition_id == edition_id, deliveries.c.subscriber_id == subscriber_id
        )
        return conn.execute(query).first() is not None


def claim_batch(engine: Engine, *, owner: str, now: datetime, limit: int,
                lease: timedelta = timedelta(minutes=10),
                subscriber_ids: Sequence[int] | None = None) -> list[Claim]:
    """Lease up to ``limit`` due deliveries: open ones whose time has come, and rows whose
    lease expired (a crashed worker). Each claim counts as an attempt."""
    due = or_(
        and_(
            deliveries.c.state.in_(OPEN_STATES),
            or_(deliveries.c.next_attempt_at.is_(None), deliveries.c.next_attempt_at <= now),
        ),
        and_(deliveries.c.state == "sending", deliveries.c.lease_expires_at < now),
    )
    query = select(deliveries.c.id).where(due).order_by(deliveries.c.id).limit(limit)
    if subscriber_ids is not None:
        query = query.where(deliveries.c.subscriber_id.in_(list(subscriber_ids)))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        ids = [row.id for row in conn.execute(query)]
        if not ids:
            return []
        conn.execute(
            update(deliveries)
            .where(deliveries.c.id.in_(ids))
            .values(state="sending", lease_owner=owner, lease_expires_at=now + lease,
                    attempts=deliveries.c.attempts + 1, updated_at=now)
        )
        rows = conn.execute(
            select(deliveries, editions.c.key)
            .join(editions, editions.c.id == deliveries.c.edition_id)
            .where(deliveries.c.id.in_(ids))
            .order_by(deliveries.c.id)
        ).all()
    return [
        Claim(id=r.id, edition_id=r.edition_id, edition_key=r.key, subscriber_id=r.subscriber_id,
              picks=tuple(r.picks or ()), quiet=bool(r.quiet), attempts=r.attempts)
        for r in rows
    ]


def _finish(engine: Engine, delivery_id: int, owner: str, now: datetime,
            **values: Any) -> bool:
    """Update a leased row only if we still hold the lease (a reclaimed row is not ours)."""
    with engine.begin() as conn:
        result = conn.execute(
            update(deliveries)
            .where(deliveries.c.id == delivery_id, deliveries.c.lease_owner == owner,
                   deliveries.c.state == "sending")
            .values(updated_at=now, lease_expires_at=None, **values)
        )
        return result.rowcount == 1


def mark_sent(engine: Engine, delivery_id: int, *, owner: str, now: datetime,
              message_id: str, reply: str, transport: str) -> bool:
    return _finish(engine, delivery_id, owner, now, state="sent", sent_at=now,
                   message_id=message_id, smtp_reply=reply[:1000], transport=transport,
                   last_error=None)


def mark_retry(engine: Engine, delivery_id: int, *, owner: str, now: datetime,
               error: str, next_attempt_at: datetime) -> bool:
    return _finish(engine, delivery_id, owner, now, state="retry", last_error=error[:1000],
                   next_attempt_at=next_attempt_at)


def mark_final(engine: Engine, delivery_id: int, *, owner: str, now: datetime, state: str,
               error: str | None = None) -> bool:
    if state not in FINAL_STATES:
        raise ValueError(f"not a final state: {state}")
    return _finish(engine, delivery_id, owner, now, state=state,
                   last_error=error[:1000] if error else None)


def release(engine: Engine, delivery_ids: Sequence[int], *, owner: str, now: datetime) -> int:
    """Give leased rows back untouched (graceful shutdown): they become due again at once."""
    if not delivery_ids:
        return 0
    with engine.begin() as conn:
        result = conn.execute(
            update(deliveries)
            .where(deliveries.c.id.in_(list(delivery_ids)), deliveries.c.lease_owner == owner,
                   deliveries.c.state == "sending")
            .values(state="retry", lease_owner=None, lease_expires_at=None,
                    attempts=deliveries.c.attempts - 1, next_attempt_at=None, updated_at=now)
        )
        return int(result.rowcount)


def sent_paper_ids(engine: Engine, subscriber_id: int) -> set[str]:
    """Papers already promised to this subscriber (sent or still on its way)."""
    query = select(deliveries.c.picks).where(
        deliveries.c.subscriber_id == subscriber_id,
        deliveries.c.state.in_(("sent", "sending", "pending", "retry")),
    )
    with engine.connect() as conn:
        return {pick["id"] for (picks,) in conn.execute(query) for pick in (picks or ())}


def counts_by_state(engine: Engine, *, edition_id: int | None = None) -> dict[str, int]:
    query = select(deliveries.c.state, func.count()).group_by(deliveries.c.state)
    if edition_id is not None:
        query = query.where(deliveries.c.edition_id == edition_id)
    with engine.connect() as conn:
        return {state: int(n) for state, n in conn.execute(query)}

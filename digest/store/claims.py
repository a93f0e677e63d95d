"""The delivery ledger, send side: lease due rows, record outcomes, ask whether mail may go.

Claims are atomic: PostgreSQL uses ``FOR UPDATE SKIP LOCKED``; SQLite serializes writers
with ``BEGIN IMMEDIATE`` (see store.db), so two senders never hold the same row. These
functions take a ``Bind``: the send loop passes the Connection it holds for the whole run
(store.ledger_link), everyone else the Engine. Keeping and giving back leases: store.leases.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, func, select, text, update

from digest.addresses import address_hash
from digest.models import Claim, Outcome
from digest.store.guard import reading, writing
from digest.store.ledger import DEFAULT_LEASE, FINAL_STATES
from digest.store.schema import (
    NEW_WHERE,
    RETRY_WHERE,
    deliveries,
    editions,
    subscribers,
    suppressions,
)

Bind = Engine | Connection


@contextmanager
def _write(bind: Bind) -> Iterator[Connection]:
    """One transaction on ``bind``."""
    if isinstance(bind, Engine):
        with writing(bind) as conn:
            yield conn
    else:
        with bind.begin():
            yield bind


@contextmanager
def _read(bind: Bind) -> Iterator[Connection]:
    """A connection to read on: no transaction of our own, and none left open on a held one."""
    if isinstance(bind, Engine):
        with reading(bind) as conn:
            yield conn
    else:
        try:
            yield bind
        finally:
            if bind.in_transaction():  # autobegun by the read: end it, holding no snapshot
                bind.rollback()


def _tiers(now: datetime) -> tuple[tuple[tuple[Any, ...], tuple[Any, ...]], ...]:
    """The due rows as disjoint parts, each one an index walks in order (ix_deliveries_new,
    ix_deliveries_retry; leased rows are few), grouped in the two tiers claims take in turn
    with the order of each."""
    lapsed = and_(deliveries.c.state == "sending", deliveries.c.lease_expires_at < now)
    waiting = deliveries.c.next_attempt_at
    return (
        # Never tried or given back untouched, in planning order; with leases that ran out,
        # which belong to a worker that crashed (live ones renew theirs).
        ((text(NEW_WHERE), and_(lapsed, waiting.is_(None))), (deliveries.c.id,)),
        # Retries (and unknown outcomes' one more attempt) by the time they fell due.
        ((and_(text(RETRY_WHERE), waiting <= now), and_(lapsed, waiting.is_not(None))),
         (waiting, deliveries.c.id)),
    )


def _due_ids(conn: Connection, now: datetime, limit: int | None,
             subscriber_ids: Sequence[int] | None, *, lock: bool) -> list[int]:
    """Up to ``limit`` due rows: those never tried or given back untouched first, in
    planning order, then retries by the time they fell due, so a few rows that keep failing
    never starve the rest of a list. Each part is read along its index and stops at
    ``limit`` (no sort of every due row, nor a walk past the rows sent already)."""
    ids: list[int] = []
    for parts, order in _tiers(now):
        want = None if limit is None else limit - len(ids)
        if want is not None and want <= 0:
            break
        rows: list[Any] = []
        for part in parts:
            query = _only(select(*order).where(part), subscriber_ids).order_by(*order).limit(want)
            if lock and conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows += conn.execute(query).all()
        rows.sort(key=tuple)
        ids += [row.id for row in rows[:want]]
    return ids


def _only(query: Any, subscriber_ids: Sequence[int] | None) -> Any:
    if subscriber_ids is None:
        return query
    return query.where(deliveries.c.subscriber_id.in_(list(subscriber_ids)))


def _claims(conn: Any, ids: Sequence[int]) -> list[Claim]:
    """The claims for ``ids``, in that order (the order they are sent in)."""
    place = {delivery_id: n for n, delivery_id in enumerate(ids)}
    rows = sorted(conn.execute(
        select(deliveries, editions.c.key)
        .join(editions, editions.c.id == deliveries.c.edition_id)
        .where(deliveries.c.id.in_(list(ids)))
    ).all(), key=lambda r: place[r.id])
    return [
        Claim(id=r.id, edition_id=r.edition_id, edition_key=r.key, subscriber_id=r.subscriber_id,
              picks=tuple(r.picks or ()), quiet=bool(r.quiet), attempts=r.attempts,
              unknown=r.outcome_unknown)
        for r in rows
    ]


def claim_batch(bind: Bind, *, owner: str, now: datetime, limit: int,
                lease: timedelta = DEFAULT_LEASE,
                subscriber_ids: Sequence[int] | None = None) -> list[Claim]:
    """Lease up to ``limit`` due deliveries: open ones whose time has come, and rows whose
    lease expired (a crashed worker). Each claim counts as an attempt."""
    with _write(bind) as conn:
        ids = _due_ids(conn, now, limit, subscriber_ids, lock=True)
        if not ids:
            return []
        conn.execute(
            update(deliveries)
            .where(deliveries.c.id.in_(ids))
            .values(state="sending", lease_owner=owner, lease_expires_at=now + lease,
                    attempts=deliveries.c.attempts + 1, updated_at=now)
        )
        return _claims(conn, ids)


def peek_due(engine: Engine, *, now: datetime, limit: int | None = None,
             subscriber_ids: Sequence[int] | None = None) -> list[Claim]:
    """The rows a send would claim now, without claiming them (for ``--dry-run``)."""
    with reading(engine) as conn:
        ids = _due_ids(conn, now, limit, subscriber_ids, lock=False)
        return _claims(conn, ids) if ids else []


def count_due(engine: Engine, *, now: datetime,
              subscriber_ids: Sequence[int] | None = None) -> int:
    """How many rows are due now: the parts claims read, each counted along its index."""
    parts = [part for tier, _ in _tiers(now) for part in tier]
    with reading(engine) as conn:
        return sum(int(conn.execute(_only(select(func.count()).select_from(deliveries)
                                          .where(part), subscriber_ids)).scalar_one())
                   for part in parts)


def next_retry_at(bind: Bind, *, subscriber_ids: Sequence[int] | None = None) -> datetime | None:
    """When the earliest waiting retry (or unknown outcome's one more attempt) becomes due
    (None when nothing waits)."""
    query = _only(select(func.min(deliveries.c.next_attempt_at))
                  .where(deliveries.c.state.in_(("retry", "unknown"))), subscriber_ids)
    with _read(bind) as conn:
        return conn.execute(query).scalar()


# Asked before every message, so built once (a text clause costs SQLAlchemy no per-call
# statement building or cache-key work).
_REFUSAL = text(
    "SELECT status, EXISTS (SELECT 1 FROM suppressions WHERE address_hash = :hash) AS barred "
    "FROM subscribers WHERE id = :id"
)


def refusal(bind: Bind, subscriber_id: int, address: str) -> str | None:
    """Why this subscriber must not get mail now (unsubscribed, bounced, suppressed), or
    None. The delivery loop asks right before each message, so a change made while a send
    is running is honoured."""
    with _read(bind) as conn:
        row = conn.execute(_REFUSAL, {"hash": address_hash(address), "id": subscriber_id}).first()
    if row is None:
        return "subscriber is gone"
    if row.status != "active":
        return f"subscriber is {row.status}"
    return "address is suppressed" if row.barred else None


_SENT = (
    update(deliveries)
    .where(deliveries.c.id == bindparam("b_id"), deliveries.c.lease_owner == bindparam("b_owner"),
           deliveries.c.state == "sending")
    .values(state="sent", sent_at=bindparam("b_now"), updated_at=bindparam("b_now"),
            lease_expires_at=None, message_id=bindparam("b_mid"), smtp_reply=bindparam("b_reply"),
            transport=bindparam("b_transport"), last_error=None)
)
_OTHER = (
    update(deliveries)
    .where(deliveries.c.id == bindparam("b_id"), deliveries.c.lease_owner == bindparam("b_owner"),
           deliveries.c.state == "sending")
    .values(state=bindparam("b_state"), updated_at=bindparam("b_now"), lease_expires_at=None,
            last_error=bindparam("b_error"), next_attempt_at=bindparam("b_next"),
            attempts=deliveries.c.attempts - bindparam("b_refund"),
            outcome_unknown=deliveries.c.outcome_unknown + bindparam("b_unknown"))
)
_RETRYABLE = ("retry", "unknown")


def record_outcomes(bind: Bind, outcomes: Sequence[Outcome], *, owner: str, now: datetime,
                    bounce_threshold: int = 1) -> int:
    """Write many outcomes in one transaction (the group commit that keeps the ledger cheap).

    Only rows we still lease are touched; returns how many were. Hard bounces count against
    the subscriber in the same transaction, suppressing at ``bounce_threshold``. An outcome
    with ``refund`` gives its attempt back (it never reached a server, or the server
    refused us rather than the message); ``unknown`` counts an unknown outcome on the row.
    """
    if not outcomes:
        return 0
    sent = [{"b_id": o.delivery_id, "b_owner": owner, "b_now": now, "b_mid": o.message_id,
             "b_reply": (o.reply or "")[:1000], "b_transport": o.transport}
            for o in outcomes if o.state == "sent"]
    other = []
    for o in outcomes:
        if o.state == "sent":
            continue
        if o.state not in _RETRYABLE and o.state not in FINAL_STATES:
            raise ValueError(f"not an outcome state: {o.state}")
        other.append({"b_id": o.delivery_id, "b_owner": owner, "b_now": now, "b_state": o.state,
                      "b_error": o.error[:1000] if o.error else None,
                      "b_next": o.next_attempt_at if o.state in _RETRYABLE else None,
                      "b_refund": int(o.refund), "b_unknown": int(o.unknown)})
    applied = 0
    with _write(bind) as conn:
        for statement, params in ((_SENT, sent), (_OTHER, other)):
            if params:
                applied += int(conn.execute(statement, params).rowcount)
        for o in outcomes:
            if o.bounce_subscriber_id is not None:
                count_hard_bounce(conn, o.bounce_subscriber_id, now=now,
                                  threshold=bounce_threshold)
    return applied


def count_hard_bounce(conn: Any, subscriber_id: int, *, now: datetime, threshold: int) -> bool:
    """One more hard bounce for this subscriber; at ``threshold`` they are marked bounced and
    their address suppressed. Returns True when this bounce suppressed them."""
    conn.execute(update(subscribers).where(subscribers.c.id == subscriber_id)
                 .values(hard_bounces=subscribers.c.hard_bounces + 1))
    row = conn.execute(select(subscribers.c.email, subscribers.c.hard_bounces)
                       .where(subscribers.c.id == subscriber_id)).first()
    if row is None or row.hard_bounces < threshold:
        return False
    conn.execute(update(subscribers).where(subscribers.c.id == subscriber_id)
                 .values(status="bounced"))
    digest_ = address_hash(row.email)
    exists = conn.execute(select(suppressions.c.address_hash)
                          .where(suppressions.c.address_hash == digest_)).first()
    if exists is None:
        conn.execute(suppressions.insert().values(address_hash=digest_, reason="hard bounce",
                                                  created_at=now))
    return True

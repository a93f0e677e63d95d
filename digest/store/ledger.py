"""The delivery ledger: one row per (edition, subscriber), claimed under a lease.

States: pending -> sending (leased) -> sent | retry | failed | suppressed | skipped.
Claims are atomic: PostgreSQL uses ``FOR UPDATE SKIP LOCKED``; SQLite serializes writers
with ``BEGIN IMMEDIATE`` (see store.db), so two senders never hold the same row.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, func, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from digest.addresses import address_hash
from digest.models import EditionInfo
from digest.store.schema import deliveries, editions, subscribers, suppressions

OPEN_STATES = ("pending", "retry")
FINAL_STATES = ("sent", "failed", "suppressed", "skipped")
DEFAULT_LEASE = timedelta(minutes=10)

# The delivery loop's calls take a Connection it holds for the whole run (no pool
# checkout per write); everyone else passes the Engine.
Bind = Engine | Connection


@contextmanager
def _write(bind: Bind) -> Iterator[Connection]:
    """One transaction on ``bind``."""
    if isinstance(bind, Engine):
        with bind.begin() as conn:
            yield conn
    else:
        with bind.begin():
            yield bind


@contextmanager
def _read(bind: Bind) -> Iterator[Connection]:
    """A connection to read on: no transaction of our own, and none left open on a held one."""
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            yield conn
    else:
        try:
            yield bind
        finally:
            if bind.in_transaction():  # autobegun by the read: end it, holding no snapshot
                bind.rollback()


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


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one claimed delivery, to be written under the lease."""

    delivery_id: int
    state: str  # sent, retry, or a final state
    error: str | None = None
    message_id: str | None = None
    reply: str | None = None
    transport: str | None = None
    next_attempt_at: datetime | None = None
    bounce_subscriber_id: int | None = None  # a hard bounce to count against this subscriber


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
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])
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


def _due(now: datetime) -> Any:
    return or_(
        and_(
            deliveries.c.state.in_(OPEN_STATES),
            or_(deliveries.c.next_attempt_at.is_(None), deliveries.c.next_attempt_at <= now),
        ),
        # A lease that ran out belongs to a worker that crashed (live ones renew theirs).
        and_(deliveries.c.state == "sending", deliveries.c.lease_expires_at < now),
    )


def _only(query: Any, subscriber_ids: Sequence[int] | None) -> Any:
    if subscriber_ids is None:
        return query
    return query.where(deliveries.c.subscriber_id.in_(list(subscriber_ids)))


def _claims(conn: Any, ids: Sequence[int]) -> list[Claim]:
    rows = conn.execute(
        select(deliveries, editions.c.key)
        .join(editions, editions.c.id == deliveries.c.edition_id)
        .where(deliveries.c.id.in_(list(ids)))
        .order_by(deliveries.c.id)
    ).all()
    return [
        Claim(id=r.id, edition_id=r.edition_id, edition_key=r.key, subscriber_id=r.subscriber_id,
              picks=tuple(r.picks or ()), quiet=bool(r.quiet), attempts=r.attempts)
        for r in rows
    ]


def claim_batch(bind: Bind, *, owner: str, now: datetime, limit: int,
                lease: timedelta = DEFAULT_LEASE,
                subscriber_ids: Sequence[int] | None = None) -> list[Claim]:
    """Lease up to ``limit`` due deliveries: open ones whose time has come, and rows whose
    lease expired (a crashed worker). Each claim counts as an attempt."""
    query = _only(select(deliveries.c.id).where(_due(now)), subscriber_ids)
    query = query.order_by(deliveries.c.id).limit(limit)
    with _write(bind) as conn:
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
        return _claims(conn, ids)


def peek_due(engine: Engine, *, now: datetime, limit: int | None = None,
             subscriber_ids: Sequence[int] | None = None) -> list[Claim]:
    """The rows a send would claim now, without claiming them (for ``--dry-run``)."""
    query = _only(select(deliveries.c.id).where(_due(now)), subscriber_ids)
    query = query.order_by(deliveries.c.id).limit(limit)
    with engine.connect() as conn:
        ids = [row.id for row in conn.execute(query)]
        return _claims(conn, ids) if ids else []


def count_due(engine: Engine, *, now: datetime,
              subscriber_ids: Sequence[int] | None = None) -> int:
    query = _only(select(func.count()).select_from(deliveries).where(_due(now)), subscriber_ids)
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def next_retry_at(bind: Bind, *, subscriber_ids: Sequence[int] | None = None) -> datetime | None:
    """When the earliest waiting retry becomes due (None when nothing waits)."""
    query = _only(select(func.min(deliveries.c.next_attempt_at))
                  .where(deliveries.c.state == "retry"), subscriber_ids)
    with _read(bind) as conn:
        return conn.execute(query).scalar()  # type: ignore[no-any-return]


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
            last_error=bindparam("b_error"), next_attempt_at=bindparam("b_next"))
)


def record_outcomes(bind: Bind, outcomes: Sequence[Outcome], *, owner: str, now: datetime,
                    bounce_threshold: int = 1) -> int:
    """Write many outcomes in one transaction (the group commit that keeps the ledger cheap).

    Only rows we still lease are touched; returns how many were. Hard bounces count against
    the subscriber in the same transaction, suppressing at ``bounce_threshold``.
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
        if o.state != "retry" and o.state not in FINAL_STATES:
            raise ValueError(f"not an outcome state: {o.state}")
        other.append({"b_id": o.delivery_id, "b_owner": owner, "b_now": now, "b_state": o.state,
                      "b_error": o.error[:1000] if o.error else None,
                      "b_next": o.next_attempt_at if o.state == "retry" else None})
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


def mark_sent(engine: Engine, delivery_id: int, *, owner: str, now: datetime,
              message_id: str, reply: str, transport: str) -> bool:
    outcome = Outcome(delivery_id, "sent", message_id=message_id, reply=reply, transport=transport)
    return record_outcomes(engine, [outcome], owner=owner, now=now) == 1


def mark_retry(engine: Engine, delivery_id: int, *, owner: str, now: datetime,
               error: str, next_attempt_at: datetime) -> bool:
    outcome = Outcome(delivery_id, "retry", error=error, next_attempt_at=next_attempt_at)
    return record_outcomes(engine, [outcome], owner=owner, now=now) == 1


def mark_final(engine: Engine, delivery_id: int, *, owner: str, now: datetime, state: str,
               error: str | None = None) -> bool:
    if state not in FINAL_STATES:
        raise ValueError(f"not a final state: {state}")
    return record_outcomes(engine, [Outcome(delivery_id, state, error=error)], owner=owner,
                           now=now) == 1


def release(bind: Bind, delivery_ids: Sequence[int], *, owner: str, now: datetime) -> int:
    """Give leased rows back untouched (graceful shutdown): they become due again at once."""
    if not delivery_ids:
        return 0
    with _write(bind) as conn:
        result = conn.execute(
            update(deliveries)
            .where(_leased_by(delivery_ids, owner))
            .values(state="retry", lease_owner=None, lease_expires_at=None,
                    attempts=deliveries.c.attempts - 1, next_attempt_at=None, updated_at=now)
        )
        return int(result.rowcount)


def sent_times_since(engine: Engine, since: datetime) -> list[datetime]:
    """When each message of the last window was sent (seeds the hourly cap across runs)."""
    query = (select(deliveries.c.sent_at)
             .where(deliveries.c.state == "sent", deliveries.c.transport == "smtp",
                    deliveries.c.sent_at >= since)
             .order_by(deliveries.c.sent_at))
    with engine.connect() as conn:
        return [t for (t,) in conn.execute(query)]


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

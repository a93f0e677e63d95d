"""The delivery ledger, planning side: editions, one row per (edition, subscriber), and what
the rows say about what each subscriber was promised.

States: pending -> sending (leased) -> sent | retry | unknown | failed | suppressed |
skipped. ``unknown``: the reply to the end of DATA never came, so the message may have been
delivered; with ``next_attempt_at`` set it is sent once more then, without it never again.
The send side (claims under a lease, outcomes) lives in ``store.claims`` and ``store.leases``.
"""

from __future__ import annotations

from collections.abc import Sequence, Set
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select, text

from digest.errors import StoreConflict
from digest.models import EditionInfo
from digest.store.guard import reading, writing
from digest.store.schema import deliveries, editions, subscribers

OPEN_STATES = ("pending", "retry")
FINAL_STATES = ("sent", "failed", "suppressed", "skipped", "unknown")
DEFAULT_LEASE = timedelta(minutes=10)


def ensure_edition(engine: Engine, info: EditionInfo, *, now: datetime) -> int:
    """The id of the edition with ``info.key``, creating it if needed (race-safe)."""
    query = select(editions.c.id).where(editions.c.key == info.key)
    with reading(engine) as conn:
        found = conn.execute(query).scalar()
        if found is not None:
            return int(found)
    try:
        with writing(engine) as conn:
            result = conn.execute(
                editions.insert().values(
                    key=info.key, frequency=info.frequency, period_start=info.period_start,
                    period_end=info.period_end, created_at=now,
                )
            )
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])
    except StoreConflict:  # another worker created it between our read and write
        with reading(engine) as conn:
            return int(conn.execute(query).scalar_one())


def add_delivery(engine: Engine, *, edition_id: int, subscriber_id: int,
                 picks: Sequence[dict[str, Any]], quiet: bool, now: datetime,
                 state: str = "pending", note: str | None = None) -> bool:
    """Record that this subscriber gets this edition; False if the row already exists."""
    try:
        with writing(engine) as conn:
            conn.execute(
                deliveries.insert().values(
                    edition_id=edition_id, subscriber_id=subscriber_id, state=state,
                    picks=list(picks), quiet=int(quiet), attempts=0,
                    last_error=note, created_at=now, updated_at=now,
                )
            )
        return True
    except StoreConflict:
        return False


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """One ledger row to add (see :func:`add_delivery` for the fields)."""

    edition_id: int
    subscriber_id: int
    picks: Sequence[dict[str, Any]]
    quiet: bool
    state: str = "pending"
    note: str | None = None


def add_deliveries(engine: Engine, rows: Sequence[NewDelivery], *, now: datetime) -> list[bool]:
    """Add many rows in one transaction; per row, False when it already existed (another
    planner got there first: then the rows go in one by one, each keeping its own verdict)."""
    if not rows:
        return []
    values = [{"edition_id": r.edition_id, "subscriber_id": r.subscriber_id, "state": r.state,
               "picks": list(r.picks), "quiet": int(r.quiet), "attempts": 0,
               "last_error": r.note, "created_at": now, "updated_at": now} for r in rows]
    try:
        with writing(engine) as conn:
            conn.execute(deliveries.insert(), values)
        return [True] * len(rows)
    except StoreConflict:
        return [add_delivery(engine, edition_id=r.edition_id, subscriber_id=r.subscriber_id,
                             picks=r.picks, quiet=r.quiet, now=now, state=r.state, note=r.note)
                for r in rows]


# PostgreSQL's planner statistics for the ledger are refreshed once its rows outgrow what they
# know by this factor (and this many rows): see refresh_statistics.
STATISTICS_GROWTH = 2
STATISTICS_FROM = 1000


def refresh_statistics(engine: Engine, *, written: int = 0) -> bool:
    """On PostgreSQL, ANALYZE the ledger when its planner statistics know fewer than half the
    rows it holds (at least STATISTICS_FROM); True when it did. SQLite, or fresh statistics:
    False, nothing done.

    A new ledger has no statistics: PostgreSQL then guesses (a default selectivity of 0.5%
    per value) that a planning batch's 200 subscriber ids match every row, and each batch's
    reads scanned the whole table, 26 ms each at 100,000 rows: 28 s of the server's 39 s in
    a 100,000-reader pass (bench/edition.py, statement log). Autovacuum would analyze it a
    minute later at best, never where it is off; the manual's advice after a bulk load is
    ANALYZE ("Populating a Database", 14.4.9). ``written``: rows this process added since
    its pass began, a floor for the count when the server's activity counters lag. One
    process analyzes at a time (an advisory lock; the others go on). Raises StoreError when
    the database fails."""
    if engine.dialect.name != "postgresql":
        return False
    with writing(engine) as conn:
        known, live = conn.execute(text(
            "SELECT c.reltuples, coalesce(s.n_live_tup, 0) FROM pg_class c"
            " LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid"
            " WHERE c.oid = to_regclass('deliveries')")).one()
        rows = max(int(live), written)
        if rows < STATISTICS_FROM or rows < STATISTICS_GROWTH * max(float(known), 0.0):
            return False
        if not conn.execute(text("SELECT pg_try_advisory_xact_lock(hashtext('digest.ledger"
                                 ".analyze'))")).scalar():
            return False  # another worker is analyzing it now
        conn.execute(text("ANALYZE deliveries"))
    return True


def existing_deliveries(engine: Engine,
                        pairs: Sequence[tuple[int, int]]) -> set[tuple[int, int]]:
    """Which (edition id, subscriber id) pairs already have a row (in any state): one query."""
    if not pairs:
        return set()
    query = select(deliveries.c.edition_id, deliveries.c.subscriber_id).where(
        deliveries.c.subscriber_id.in_(sorted({s for _, s in pairs})),
        deliveries.c.edition_id.in_(sorted({e for e, _ in pairs})))
    wanted = set(pairs)
    with reading(engine) as conn:
        return {(e, s) for e, s in conn.execute(query) if (e, s) in wanted}


def planned_among(engine: Engine,
                  pairs: Set[tuple[int, int]]) -> set[tuple[int, int]]:
    """Which of these (edition id, subscriber id) pairs have a row (in any state): one query
    by edition, streamed, whatever the number of pairs (a whole pass's second look, where
    :func:`existing_deliveries`' id lists would pass the driver's parameter limit)."""
    if not pairs:
        return set()
    query = select(deliveries.c.edition_id, deliveries.c.subscriber_id).where(
        deliveries.c.edition_id.in_(sorted({e for e, _ in pairs})))
    with reading(engine) as conn:
        rows = conn.execution_options(yield_per=10_000).execute(query)
        return {(e, s) for e, s in rows if (e, s) in pairs}


def has_delivery(engine: Engine, *, edition_id: int, subscriber_id: int) -> bool:
    """Whether this subscriber already has a row for this edition (in any state)."""
    with reading(engine) as conn:
        query = select(deliveries.c.id).where(
            deliveries.c.edition_id == edition_id, deliveries.c.subscriber_id == subscriber_id
        )
        return conn.execute(query).first() is not None


def sent_times_since(engine: Engine, since: datetime) -> list[datetime]:
    """When each message of the last window was sent (seeds the hourly cap across runs)."""
    query = (select(deliveries.c.sent_at)
             .where(deliveries.c.state == "sent", deliveries.c.transport == "smtp",
                    deliveries.c.sent_at >= since)
             .order_by(deliveries.c.sent_at))
    with reading(engine) as conn:
        return [t for (t,) in conn.execute(query)]


def sent_paper_ids(engine: Engine, subscriber_id: int) -> set[str]:
    """Papers already promised to this subscriber (sent or still on its way)."""
    query = select(deliveries.c.picks).where(
        deliveries.c.subscriber_id == subscriber_id,
        deliveries.c.state.in_(("sent", "sending", "pending", "retry", "unknown")),
    )
    with reading(engine) as conn:
        return {pick["id"] for (picks,) in conn.execute(query) for pick in (picks or ())}


def sent_paper_ids_many(engine: Engine, subscriber_ids: Sequence[int]) -> dict[int, set[str]]:
    """:func:`sent_paper_ids` for many subscribers in one query (every id gets a set)."""
    out: dict[int, set[str]] = {sid: set() for sid in subscriber_ids}
    if not out:
        return out
    query = select(deliveries.c.subscriber_id, deliveries.c.picks).where(
        deliveries.c.subscriber_id.in_(sorted(out)),
        deliveries.c.state.in_(("sent", "sending", "pending", "retry", "unknown")),
    )
    with reading(engine) as conn:
        for sid, picks in conn.execute(query):
            out[sid].update(pick["id"] for pick in (picks or ()))
    return out


def counts_by_state(engine: Engine, *, edition_id: int | None = None) -> dict[str, int]:
    """How many deliveries are in each state (of one edition, or of all)."""
    query = select(deliveries.c.state, func.count()).group_by(deliveries.c.state)
    if edition_id is not None:
        query = query.where(deliveries.c.edition_id == edition_id)
    with reading(engine) as conn:
        return {state: int(n) for state, n in conn.execute(query)}


@dataclass(frozen=True, slots=True)
class FailedDelivery:
    """A delivery that is retrying, failed or has an unknown outcome, with the reason the
    server or digest gave."""

    state: str
    subscriber: str  # the address
    error: str
    at: datetime | None


def recent_delivery_errors(engine: Engine, *, limit: int = 5) -> list[FailedDelivery]:
    """The newest ``limit`` retrying, failed or unknown deliveries that carry an error,
    newest first."""
    query = (select(deliveries.c.state, deliveries.c.last_error, deliveries.c.updated_at,
                    subscribers.c.email)
             .join(subscribers, subscribers.c.id == deliveries.c.subscriber_id)
             .where(deliveries.c.state.in_(("retry", "failed", "unknown")),
                    deliveries.c.last_error.is_not(None))
             .order_by(deliveries.c.updated_at.desc()).limit(limit))
    with reading(engine) as conn:
        return [FailedDelivery(r.state, r.email, r.last_error, r.updated_at)
                for r in conn.execute(query)]

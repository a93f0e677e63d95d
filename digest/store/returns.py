"""Mail that came back, in the store: a bounce or complaint written on its delivery row and
the subscriber, and one ``inbound_events`` row per inbound message handled (for status)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select, update

from digest.addresses import address_hash
from digest.store.claims import count_hard_bounce
from digest.store.guard import reading, writing
from digest.store.schema import deliveries, editions, inbound_events, subscribers, suppressions


@dataclass(frozen=True, slots=True)
class Returned:
    """What recording a bounce or complaint changed: the subscriber it was about (None when
    the row or subscriber is gone), whether it suppressed them, and the row's id."""

    subscriber_id: int | None
    suppressed: bool = False
    delivery_id: int | None = None


def delivery_subscriber(engine: Engine, delivery_id: int) -> int | None:
    """The subscriber a delivery row was for, or None when the row is gone."""
    with reading(engine) as conn:
        found = conn.execute(select(deliveries.c.subscriber_id)
                             .where(deliveries.c.id == delivery_id)).scalar()
    return int(found) if found is not None else None


def record_event(engine: Engine, kind: str, *, now: datetime, delivery_id: int | None = None,
                 subscriber_id: int | None = None, fault: str | None = None,
                 status: str | None = None, detail: str | None = None) -> None:
    """One inbound message handled (``kind``: bounce, delay, complaint, auto-reply,
    subscribe, help, unsubscribe, ignored), with what it was matched to."""
    with writing(engine) as conn:
        # A row or subscriber deleted meanwhile is not named (the keys would not hold).
        if delivery_id is not None and conn.execute(
                select(deliveries.c.id).where(deliveries.c.id == delivery_id)).first() is None:
            delivery_id = None
        if subscriber_id is not None and conn.execute(
                select(subscribers.c.id).where(subscribers.c.id == subscriber_id)
        ).first() is None:
            subscriber_id = None
        conn.execute(inbound_events.insert().values(
            kind=kind[:20], delivery_id=delivery_id, subscriber_id=subscriber_id,
            fault=fault, status=(status or None) and status[:16],
            detail=detail[:1000] if detail else None, created_at=now))


def record_bounce(engine: Engine, *, delivery_id: int | None, subscriber_id: int | None,
                  line: str, fault: str, failed: bool, hard: bool, status: str,
                  now: datetime, threshold: int) -> Returned:
    """A DSN for delivery row ``delivery_id`` (or, for a notice, for ``subscriber_id``):
    the row records ``line`` as what came back and turns ``failed`` when the DSN says the
    message failed; a ``hard`` bounce (the recipient at fault, permanently) counts towards
    the subscriber's suppression at ``threshold`` (the same rule as a refusal during the
    SMTP session, store.claims). Writes the event in the same transaction."""
    with writing(engine) as conn:
        if delivery_id is not None:
            found = conn.execute(select(deliveries.c.subscriber_id, deliveries.c.returned)
                                 .where(deliveries.c.id == delivery_id)).first()
            if found is None:
                return Returned(None)
            subscriber_id = int(found.subscriber_id)
            if str(found.returned or "").startswith("failed"):
                hard = False  # the same failure reported twice counts once
            values: dict[str, object] = {"returned": line[:1000], "returned_at": now}
            if failed:
                values.update(state="failed", last_error=f"bounced later: {line}"[:1000],
                              updated_at=now)
            conn.execute(update(deliveries).where(deliveries.c.id == delivery_id)
                         .values(**values))
        if subscriber_id is not None and conn.execute(
                select(subscribers.c.id).where(subscribers.c.id == subscriber_id)
        ).first() is None:
            subscriber_id = None
        suppressed = False
        if hard and subscriber_id is not None:
            suppressed = count_hard_bounce(conn, subscriber_id, now=now, threshold=threshold)
        conn.execute(inbound_events.insert().values(
            kind="bounce" if failed else "delay", delivery_id=delivery_id,
            subscriber_id=subscriber_id, fault=fault, status=status[:16] or None,
            detail=line[:1000], created_at=now))
    return Returned(subscriber_id, suppressed, delivery_id)


def record_complaint(engine: Engine, *, subscriber_id: int, delivery_id: int | None,
                     detail: str, now: datetime) -> Returned:
    """A complaint (ARF "this is spam"): the subscriber is unsubscribed and the address
    suppressed with reason ``complaint`` (no goodbye: they asked for no more mail), the
    delivery row notes it. Writes the event in the same transaction."""
    with writing(engine) as conn:
        row = conn.execute(select(subscribers.c.email, subscribers.c.status)
                           .where(subscribers.c.id == subscriber_id)).first()
        if row is None:
            return Returned(None)
        if row.status in ("active", "pending"):
            conn.execute(update(subscribers).where(subscribers.c.id == subscriber_id)
                         .values(status="unsubscribed", unsubscribed_at=now))
        hashed = address_hash(row.email)
        if conn.execute(select(suppressions.c.address_hash)
                        .where(suppressions.c.address_hash == hashed)).first() is None:
            conn.execute(suppressions.insert().values(address_hash=hashed, reason="complaint",
                                                      created_at=now))
        if delivery_id is not None:
            conn.execute(update(deliveries).where(deliveries.c.id == delivery_id,
                                                  deliveries.c.subscriber_id == subscriber_id)
                         .values(returned=f"complaint: {detail}"[:1000], returned_at=now))
        conn.execute(inbound_events.insert().values(
            kind="complaint", delivery_id=delivery_id, subscriber_id=subscriber_id,
            detail=detail[:1000], created_at=now))
    return Returned(subscriber_id, True, delivery_id)


@dataclass(frozen=True, slots=True)
class EditionReturns:
    """What came back for one edition: bounces by fault, delays, complaints."""

    edition: str
    sent: int
    bounces: dict[str, int]
    delays: int
    complaints: int


def returns_by_edition(engine: Engine, *, last: int = 3) -> list[EditionReturns]:
    """The newest ``last`` editions with how many messages were sent and what came back."""
    with reading(engine) as conn:
        recent = conn.execute(select(editions.c.id, editions.c.key)
                              .order_by(editions.c.id.desc()).limit(last)).all()
        ids = [int(r.id) for r in recent]
        sent: dict[int, int] = dict(conn.execute(
            select(deliveries.c.edition_id, func.count())
            .where(deliveries.c.edition_id.in_(ids), deliveries.c.sent_at.is_not(None))
            .group_by(deliveries.c.edition_id)).all())
        events = conn.execute(
            select(deliveries.c.edition_id, inbound_events.c.kind, inbound_events.c.fault,
                   func.count())
            .join(deliveries, deliveries.c.id == inbound_events.c.delivery_id)
            .where(deliveries.c.edition_id.in_(ids))
            .group_by(deliveries.c.edition_id, inbound_events.c.kind, inbound_events.c.fault)
        ).all()
    out = []
    for r in recent:
        mine = [e for e in events if e[0] == r.id]
        out.append(EditionReturns(
            str(r.key), int(sent.get(r.id, 0)),
            {str(e[2] or "other"): int(e[3]) for e in mine if e[1] == "bounce"},
            sum(int(e[3]) for e in mine if e[1] == "delay"),
            sum(int(e[3]) for e in mine if e[1] == "complaint")))
    return out


def inbound_counts(engine: Engine, *, since: datetime) -> dict[str, int]:
    """How many inbound messages of each kind were handled since ``since``."""
    with reading(engine) as conn:
        rows = conn.execute(select(inbound_events.c.kind, func.count())
                            .where(inbound_events.c.created_at >= since)
                            .group_by(inbound_events.c.kind)).all()
    return {str(kind): int(n) for kind, n in rows}

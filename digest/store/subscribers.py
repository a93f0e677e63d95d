"""Subscribers in the store: create/update from profiles, look up, change status."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Row, delete, select, update

from digest.addresses import address_hash
from digest.errors import StoreConflict, SuppressedError
from digest.models import Profile, Subscriber, SubscriberInput
from digest.store.guard import reading, writing
from digest.store.mailbox import exact_first, same_mailbox
from digest.store.schema import deliveries, editions, feedback, subscribers, suppressions


def row_to_subscriber(row: Row[Any] | Any, *, liked: Sequence[str] = (),
                      disliked: Sequence[str] = ()) -> Subscriber:
    m = row._mapping
    profile = Profile(
        interests=m["interests"],
        keywords=tuple(m["keywords"] or ()),
        categories=tuple(m["categories"] or ()),
        authors=tuple(m["authors"] or ()),
        seed_papers=tuple(m["seed_papers"] or ()),
        liked=tuple(liked),
        disliked=tuple(disliked),
        popularity_weight=m["popularity_weight"],
    )
    return Subscriber(
        id=m["id"],
        email=m["email"],
        name=m["name"] or "",
        profile=profile,
        status=m["status"],
        frequency=m["frequency"],
        weekday=m["weekday"],
        hour=m["hour"],
        timezone=m["timezone"],
        papers_per_email=m["papers_per_email"],
        quiet_week=m["quiet_week"],
        public_id=m.get("public_id") or "",
    )


def is_suppressed(engine: Engine, address_hash: str) -> bool:
    with reading(engine) as conn:
        query = select(suppressions.c.address_hash).where(
            suppressions.c.address_hash == address_hash
        )
        return conn.execute(query).first() is not None


def upsert_subscriber(engine: Engine, data: SubscriberInput, *, now: datetime, status: str,
                      origin: str) -> tuple[int, bool]:
    """Create or update by email; returns (id, created). An existing status is kept unless
    the row was pending and ``status`` is active (files and admins may confirm).

    A suppressed address with no row (a deleted subscriber) raises SuppressedError: no
    file, import or form may bring it back."""
    with writing(engine) as conn:
        # One mailbox is one subscriber, whichever IDNA form of its domain arrives.
        row = conn.execute(
            select(subscribers.c.id, subscribers.c.status)
            .where(same_mailbox(subscribers.c.email, data.email))
            .order_by(exact_first(subscribers.c.email, data.email), subscribers.c.id)
        ).first()
        if row is None:
            hashed = conn.execute(select(suppressions.c.address_hash).where(
                suppressions.c.address_hash == address_hash(data.email))).first()
            if hashed is not None:
                raise SuppressedError(f"{data.email} asked to be removed and cannot be added again")
            result = conn.execute(
                subscribers.insert().values(
                    **data.values(), status=status, origin=origin, created_at=now,
                    confirmed_at=now if status == "active" else None,
                )
            )
            key = result.inserted_primary_key
            assert key is not None  # a single-row insert always reports its primary key
            return int(key[0]), True
        values = data.values()
        values.pop("email")  # the address keeps the form it was first stored in
        if row.status == "pending" and status == "active":
            values.update(status="active", confirmed_at=now)
        conn.execute(update(subscribers).where(subscribers.c.id == row.id).values(**values))
        return int(row.id), False


ID_CHUNK = 10_000  # ids bound in one IN (...)


def feedback_for(conn: Any, ids: Sequence[int]) -> dict[int, tuple[list[str], list[str]]]:
    """(liked, disliked) paper ids of each subscriber in ``ids``, over ``conn``: the latest
    signal for a paper wins, oldest first."""
    out: dict[int, tuple[list[str], list[str]]] = {i: ([], []) for i in ids}
    if not ids:
        return out
    # Chunks of ids: PostgreSQL binds at most 65,535 parameters a statement (a 100,000-reader
    # edition failed there). Each reader is in one chunk, so their order by time holds.
    for start in range(0, len(ids), ID_CHUNK):
        query = (
            select(feedback.c.subscriber_id, feedback.c.paper_id, feedback.c.signal)
            .where(feedback.c.subscriber_id.in_(ids[start:start + ID_CHUNK]))
            .order_by(feedback.c.created_at)
        )
        for sid, pid, signal in conn.execute(query):
            liked, disliked = out[sid]
            # The latest signal for a paper wins: "more" after "less" means more.
            for bucket in (liked, disliked):
                if pid in bucket:
                    bucket.remove(pid)
            (liked if signal > 0 else disliked).append(pid)
    return out


def list_subscribers(engine: Engine, *, status: str | None = None) -> list[Subscriber]:
    query = select(subscribers).order_by(subscribers.c.id)
    if status is not None:
        query = query.where(subscribers.c.status == status)
    with reading(engine) as conn:
        rows = conn.execute(query).all()
        fb = feedback_for(conn, [r.id for r in rows])
    return [row_to_subscriber(r, liked=fb[r.id][0], disliked=fb[r.id][1]) for r in rows]


def get_subscriber(engine: Engine, *, email: str | None = None,
                   subscriber_id: int | None = None,
                   public_id: str | None = None) -> Subscriber | None:
    """The subscriber with this address (any spelling of its domain), integer id or public
    id; None when there is none. Raises ValueError when given none of the three."""
    query = select(subscribers)
    if email is not None:
        query = query.where(same_mailbox(subscribers.c.email, email)).order_by(
            exact_first(subscribers.c.email, email), subscribers.c.id)
    elif subscriber_id is not None:
        query = query.where(subscribers.c.id == subscriber_id)
    elif public_id is not None:
        query = query.where(subscribers.c.public_id == public_id)
    else:
        raise ValueError("give email, subscriber_id or public_id")
    with reading(engine) as conn:
        row = conn.execute(query).first()
        if row is None:
            return None
        fb = feedback_for(conn, [row.id])
    return row_to_subscriber(row, liked=fb[row.id][0], disliked=fb[row.id][1])


def subscribers_by_id(engine: Engine, ids: Sequence[int], *,
                      feedback: bool = False) -> dict[int, Subscriber]:
    """The subscribers with these ids as they are now, by id, in one read per 500 ids (ids
    with no row are absent). Their liked/disliked papers are read too with ``feedback``
    (what ranking needs: a planning batch); left empty otherwise (a send batch: a digest
    never shows them)."""
    found: dict[int, Subscriber] = {}
    unique = sorted(set(ids))
    with reading(engine) as conn:
        for start in range(0, len(unique), 500):  # under every backend's bound-parameter cap
            query = select(subscribers).where(subscribers.c.id.in_(unique[start:start + 500]))
            rows = conn.execute(query).all()
            fb = feedback_for(conn, [r.id for r in rows]) if feedback else {}
            for r in rows:
                liked, disliked = fb.get(r.id, ([], []))
                found[r.id] = row_to_subscriber(r, liked=liked, disliked=disliked)
    return found


def created_at(engine: Engine, subscriber_id: int) -> datetime | None:
    """When the row that now has ``subscriber_id`` was created (None: no such row)."""
    with reading(engine) as conn:
        when: datetime | None = conn.execute(
            select(subscribers.c.created_at).where(subscribers.c.id == subscriber_id)
        ).scalar_one_or_none()
        return when


def set_status(engine: Engine, subscriber_id: int, status: str, *, now: datetime) -> None:
    values: dict[str, Any] = {"status": status}
    if status == "unsubscribed":
        values["unsubscribed_at"] = now
    elif status == "active":
        values["confirmed_at"] = now
    with writing(engine) as conn:
        conn.execute(update(subscribers).where(subscribers.c.id == subscriber_id).values(**values))


def suppress_address(engine: Engine, address_hash: str, *, reason: str, now: datetime) -> None:
    """Never mail this address again (hard bounce, complaint, deletion). Idempotent."""

    try:
        with writing(engine) as conn:
            conn.execute(suppressions.insert().values(address_hash=address_hash, reason=reason,
                                                      created_at=now))
    except StoreConflict:
        pass


def update_subscriber(engine: Engine, subscriber_id: int, values: dict[str, Any]) -> bool:
    """Write the given columns (preferences, stamps); False if the subscriber is gone."""
    with writing(engine) as conn:
        result = conn.execute(
            update(subscribers).where(subscribers.c.id == subscriber_id).values(**values))
        return result.rowcount > 0


def unsubscribe(engine: Engine, subscriber_id: int, *, now: datetime) -> bool:
    """Mark active/pending as unsubscribed; True only if this call changed something."""
    with writing(engine) as conn:
        result = conn.execute(
            update(subscribers)
            .where(subscribers.c.id == subscriber_id,
                   subscribers.c.status.in_(("active", "pending")))
            .values(status="unsubscribed", unsubscribed_at=now))
        return result.rowcount > 0


def record_feedback(engine: Engine, subscriber_id: int, paper_id: str, signal: int, *,
                    now: datetime) -> None:
    """Record a reader's "more" (``signal`` > 0) or "less" about one paper: one row per
    (reader, paper), the latest signal replacing the earlier one (all that ranking reads),
    so a replayed link cannot grow the table."""
    with writing(engine) as conn:
        conn.execute(delete(feedback).where(feedback.c.subscriber_id == subscriber_id,
                                            feedback.c.paper_id == paper_id))
        conn.execute(feedback.insert().values(subscriber_id=subscriber_id, paper_id=paper_id,
                                              signal=1 if signal > 0 else -1, created_at=now))


def delete_subscriber(engine: Engine, subscriber_id: int, *, now: datetime,
                      reason: str = "deleted") -> str | None:
    """Erase the subscriber, their feedback and ledger rows, leaving only the address hash
    in suppressions (unless ``reason`` is empty). Returns the erased address, or None."""
    with writing(engine) as conn:
        email = conn.execute(select(subscribers.c.email)
                             .where(subscribers.c.id == subscriber_id)).scalar_one_or_none()
        if email is None:
            return None
        conn.execute(delete(feedback).where(feedback.c.subscriber_id == subscriber_id))
        conn.execute(delete(deliveries).where(deliveries.c.subscriber_id == subscriber_id))
        conn.execute(delete(subscribers).where(subscribers.c.id == subscriber_id))
        hashed = address_hash(email)
        exists = conn.execute(select(suppressions.c.address_hash)
                              .where(suppressions.c.address_hash == hashed)).first()
        if reason and exists is None:
            conn.execute(suppressions.insert().values(address_hash=hashed, reason=reason,
                                                      created_at=now))
    return str(email)


def export_subscriber(engine: Engine, subscriber_id: int) -> dict[str, Any] | None:
    """Everything the store holds about one subscriber, as JSON-ready data."""
    with reading(engine) as conn:
        row = conn.execute(select(subscribers).where(subscribers.c.id == subscriber_id)).first()
        if row is None:
            return None
        fb = conn.execute(select(feedback.c.paper_id, feedback.c.signal, feedback.c.created_at)
                          .where(feedback.c.subscriber_id == subscriber_id)
                          .order_by(feedback.c.id)).all()
        sent = conn.execute(
            select(editions.c.key, deliveries.c.state, deliveries.c.sent_at, deliveries.c.picks)
            .join(editions, editions.c.id == deliveries.c.edition_id)
            .where(deliveries.c.subscriber_id == subscriber_id).order_by(deliveries.c.id)).all()

    def iso(value: Any) -> Any:
        return value.isoformat() if isinstance(value, datetime) else value

    profile = {k: iso(v) for k, v in row._mapping.items()}
    return {
        "subscriber": profile,
        "feedback": [{"paper": p, "signal": "more" if s > 0 else "less", "at": iso(t)}
                     for p, s, t in fb],
        "deliveries": [{"edition": k, "state": st, "sent_at": iso(at),
                        "papers": [p.get("id") for p in picks or []]}
                       for k, st, at, picks in sent],
    }


def confirm_pending(engine: Engine, subscriber_id: int, *, issued: datetime,
                    now: datetime) -> bool:
    """Activate a pending/unsubscribed subscriber with a confirmation issued at ``issued``.

    False when the link is stale: the subscriber confirmed or unsubscribed after it was
    issued (a replayed old link must not re-subscribe someone who left), or bounced."""
    c = subscribers.c
    with writing(engine) as conn:
        result = conn.execute(
            update(subscribers)
            .where(c.id == subscriber_id, c.status.in_(("pending", "unsubscribed")),
                   (c.confirmed_at.is_(None)) | (c.confirmed_at < issued),
                   (c.unsubscribed_at.is_(None)) | (c.unsubscribed_at < issued))
            .values(status="active", confirmed_at=now))
        return result.rowcount > 0

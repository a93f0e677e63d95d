"""The suppression list seen whole: how many addresses it holds for each reason, and lifting
one suppression on the operator's explicit word (``digest subscribers unsuppress``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, delete, func, select, update

from digest.addresses import address_hash, spellings
from digest.store.guard import reading, writing
from digest.store.schema import subscribers, suppressions


def suppression_counts(engine: Engine) -> dict[str, int]:
    """How many addresses are suppressed, per reason (``hard bounce``, ``removed``, ...)."""
    query = select(suppressions.c.reason, func.count()).group_by(suppressions.c.reason)
    with reading(engine) as conn:
        return {str(reason): int(n) for reason, n in conn.execute(query)}


@dataclass(frozen=True, slots=True)
class Lifted:
    """What lifting a suppression changed: the suppression removed (its reason and since
    when), and the subscriber made active again (their id, former status, bounce count)."""

    address: str  # as the subscriber's row has it, else as given
    reason: str | None = None  # None: the address was not on the suppression list
    since: datetime | None = None
    subscriber_id: int | None = None
    status_before: str | None = None
    bounces_before: int = 0

    @property
    def changed(self) -> bool:
        return self.reason is not None or self.status_before == "bounced" or bool(
            self.bounces_before)


def lift_suppression(engine: Engine, address: str) -> Lifted:
    """Remove ``address`` (either IDNA form) from the suppression list; a subscriber marked
    bounced becomes active again and their hard-bounce count starts over. An unsubscribed
    subscriber stays unsubscribed: only they can come back. Changes nothing when there is
    nothing to lift."""
    hashed = address_hash(address)
    with writing(engine) as conn:
        found = conn.execute(select(suppressions.c.reason, suppressions.c.created_at)
                             .where(suppressions.c.address_hash == hashed)).first()
        if found is not None:
            conn.execute(delete(suppressions).where(suppressions.c.address_hash == hashed))
        # As case-blind as the hash: "Lea@…" typed is the stored "lea@…".
        forms = [form.lower() for form in spellings(address)]
        row = conn.execute(
            select(subscribers.c.id, subscribers.c.email, subscribers.c.status,
                   subscribers.c.hard_bounces)
            .where(func.lower(subscribers.c.email).in_(forms)).order_by(subscribers.c.id)
        ).first()
        if row is None:
            return Lifted(address, found.reason if found else None,
                          found.created_at if found else None)
        values: dict[str, object] = {"hard_bounces": 0}
        if row.status == "bounced":
            values["status"] = "active"
        conn.execute(update(subscribers).where(subscribers.c.id == row.id).values(**values))
        return Lifted(str(row.email), found.reason if found else None,
                      found.created_at if found else None, int(row.id), str(row.status),
                      int(row.hard_bounces))

"""Consent as data that moves between stores: each subscriber's status with its times, and
the suppression list (address hashes), read for an export and written back by an import
without ever turning a withdrawal or a bounce into consent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select, update

from digest.addresses import address_hash, spellings
from digest.store.guard import reading, writing
from digest.store.mailbox import exact_first, same_mailbox
from digest.store.schema import subscribers, suppressions


@dataclass(frozen=True, slots=True)
class Suppression:
    """One suppressed address hash: why (``hard bounce``, ``removed``, ...) and since when."""

    address_hash: str
    reason: str
    since: datetime


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """A subscriber's consent as the store holds it: status, when they confirmed (consent
    time), when they left, and their address's suppression if any."""

    email: str
    status: str
    created_at: datetime
    confirmed_at: datetime | None
    unsubscribed_at: datetime | None
    suppression: Suppression | None


def suppression_list(engine: Engine) -> list[Suppression]:
    """Every suppressed address hash, oldest first."""
    c = suppressions.c
    with reading(engine) as conn:
        rows = conn.execute(select(c.address_hash, c.reason, c.created_at)
                            .order_by(c.created_at, c.address_hash)).all()
    return [Suppression(str(h), str(r), at) for h, r, at in rows]


def consent_records(engine: Engine) -> dict[str, ConsentRecord]:
    """Each subscriber's consent, by stored address (oldest subscriber first)."""
    by_hash = {s.address_hash: s for s in suppression_list(engine)}
    c = subscribers.c
    with reading(engine) as conn:
        rows = conn.execute(select(c.email, c.status, c.created_at, c.confirmed_at,
                                   c.unsubscribed_at).order_by(c.id)).all()
    return {str(r.email): ConsentRecord(str(r.email), str(r.status), r.created_at,
                                        r.confirmed_at, r.unsubscribed_at,
                                        by_hash.get(address_hash(str(r.email))))
            for r in rows}


def restore_suppression(engine: Engine, entry: Suppression) -> bool:
    """Put ``entry`` on the suppression list; False when that hash is already there (its
    reason and time are kept: the older record wins)."""
    with writing(engine) as conn:
        found = conn.execute(select(suppressions.c.address_hash).where(
            suppressions.c.address_hash == entry.address_hash)).first()
        if found is not None:
            return False
        conn.execute(suppressions.insert().values(address_hash=entry.address_hash,
                                                  reason=entry.reason,
                                                  created_at=entry.since))
        return True


def set_consent(engine: Engine, email: str, *, status: str, confirmed_at: datetime | None,
                unsubscribed_at: datetime | None) -> bool:
    """Write a subscriber's status and consent times as another store recorded them;
    False when there is no subscriber with this address."""
    values: dict[str, Any] = {"status": status, "confirmed_at": confirmed_at,
                              "unsubscribed_at": unsubscribed_at}
    with writing(engine) as conn:
        result = conn.execute(update(subscribers)
                              .where(same_mailbox(subscribers.c.email, email))
                              .values(**values))
        return result.rowcount > 0


def case_variants(engine: Engine, email: str) -> list[str]:
    """Stored addresses that differ from ``email`` only in the case of the local part
    ("Bob@example.org" for "bob@example.org"): one mailbox, so the stored row is the one an
    add or import updates (``subscribers.same_mailbox``); the caller says so."""
    forms = [form.lower() for form in spellings(email)]
    with reading(engine) as conn:
        rows = conn.execute(select(subscribers.c.email)
                            .where(func.lower(subscribers.c.email).in_(forms))
                            .order_by(subscribers.c.id)).all()
    return [str(r.email) for r in rows if str(r.email) not in spellings(email)]


def consent_of(engine: Engine, email: str) -> ConsentRecord | None:
    """One subscriber's consent, by address (either IDNA form of its domain); None if none."""
    c = subscribers.c
    with reading(engine) as conn:
        row = conn.execute(select(c.email, c.status, c.created_at, c.confirmed_at,
                                  c.unsubscribed_at)
                           .where(same_mailbox(c.email, email))
                           .order_by(exact_first(c.email, email), c.id)).first()
        if row is None:
            return None
        hashed = address_hash(str(row.email))
        found = conn.execute(select(suppressions.c.reason, suppressions.c.created_at)
                             .where(suppressions.c.address_hash == hashed)).first()
    return ConsentRecord(str(row.email), str(row.status), row.created_at, row.confirmed_at,
                         row.unsubscribed_at,
                         Suppression(hashed, str(found.reason), found.created_at)
                         if found else None)


def confirmation_state(engine: Engine, subscriber_id: int) -> tuple[datetime | None,
                                                                    datetime | None]:
    """(when the last confirmation mail went out, when they last unsubscribed) for the
    per-address resend limit; (None, None) for no such subscriber."""
    c = subscribers.c
    with reading(engine) as conn:
        row = conn.execute(select(c.last_confirmation_sent_at, c.unsubscribed_at)
                           .where(c.id == subscriber_id)).first()
    return (row[0], row[1]) if row else (None, None)


def undo_unsubscribe(engine: Engine, subscriber_id: int, *, left: datetime,
                     now: datetime) -> bool:
    """An unsubscribed subscriber active again (their undo link, for the unsubscribe made at
    ``left``); False when they are not unsubscribed, left again later, or are gone."""
    c = subscribers.c
    with writing(engine) as conn:
        result = conn.execute(update(subscribers)
                              .where(c.id == subscriber_id, c.status == "unsubscribed",
                                     c.unsubscribed_at <= left)
                              .values(status="active", confirmed_at=now))
        return result.rowcount > 0

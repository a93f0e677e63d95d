"""What a reader was sent, for reading it elsewhere (a browser, a feed reader), and the
revocable key of their private feed."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from digest.errors import StoreConflict
from digest.models import EditionInfo
from digest.store.guard import reading, writing
from digest.store.schema import deliveries, editions, reader_feeds


@dataclass(frozen=True, slots=True)
class SentEdition:
    """One edition a reader was sent: the edition, its frozen picks (``[{id, score,
    reasons}]``, best first), whether it was a quiet one, and when it went out (UTC)."""

    info: EditionInfo
    picks: list[dict[str, Any]]
    quiet: bool
    sent_at: datetime


def _sent(subscriber_id: int) -> Any:
    d, e = deliveries.c, editions.c
    return (select(e.key, e.frequency, e.period_start, e.period_end, d.picks, d.quiet,
                   d.sent_at)
            .select_from(deliveries.join(editions, d.edition_id == e.id))
            .where(d.subscriber_id == subscriber_id, d.state == "sent",
                   d.sent_at.is_not(None)))


def _row(row: Any) -> SentEdition:
    info = EditionInfo(key=row.key, frequency=row.frequency, period_start=row.period_start,
                       period_end=row.period_end)
    return SentEdition(info, list(row.picks or []), bool(row.quiet), row.sent_at)


def sent_edition(engine: Engine, subscriber_id: int, edition_key: str) -> SentEdition | None:
    """The edition ``edition_key`` as sent to this subscriber; None if it never was."""
    with reading(engine) as conn:
        row = conn.execute(_sent(subscriber_id).where(editions.c.key == edition_key)).first()
    return _row(row) if row is not None else None


def sent_editions(engine: Engine, subscriber_id: int, *, limit: int) -> list[SentEdition]:
    """The newest ``limit`` editions sent to this subscriber, newest first."""
    query = _sent(subscriber_id).order_by(deliveries.c.sent_at.desc()).limit(limit)
    with reading(engine) as conn:
        return [_row(row) for row in conn.execute(query)]


def feed_key(engine: Engine, subscriber_id: int, *, now: datetime) -> str:
    """The subscriber's current feed key, made on first use (race-safe)."""
    c = reader_feeds.c
    with reading(engine) as conn:
        found = conn.execute(select(c.feed_key).where(c.subscriber_id == subscriber_id)).scalar()
    if found is not None:
        return str(found)
    try:
        with writing(engine) as conn:
            key = secrets.token_urlsafe(16)
            conn.execute(reader_feeds.insert().values(subscriber_id=subscriber_id,
                                                      feed_key=key, created_at=now))
            return key
    except StoreConflict:  # another request made it first: that one stands
        with reading(engine) as conn:
            return str(conn.execute(select(c.feed_key)
                                    .where(c.subscriber_id == subscriber_id)).scalar_one())


def replace_feed_key(engine: Engine, subscriber_id: int, *, now: datetime) -> str:
    """A new feed key for the subscriber: every link made with the old one stops working."""
    c = reader_feeds.c
    key = secrets.token_urlsafe(16)
    with writing(engine) as conn:
        conn.execute(reader_feeds.delete().where(c.subscriber_id == subscriber_id))
        conn.execute(reader_feeds.insert().values(subscriber_id=subscriber_id, feed_key=key,
                                                  created_at=now))
    return key

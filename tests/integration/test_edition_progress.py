"""Edition progress read from a real ledger mid-edition (SQLite and PostgreSQL): the
figures are the rows this test put in each state, counted by hand below."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, update

from digest.models import EditionInfo, SubscriberInput
from digest.store import ledger
from digest.store.progress import EditionProgress, edition_progress
from digest.store.schema import deliveries
from digest.store.subscribers import upsert_subscriber

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _edition(engine: Engine, key: str) -> int:
    start = NOW - timedelta(days=7)
    return ledger.ensure_edition(engine, EditionInfo(key=key, frequency="weekly",
                                                     period_start=start, period_end=NOW), now=start)


def build_ledger(engine: Engine, now: datetime) -> None:
    """Four editions, made in this order, rows set to the states listed (columns as the
    send side leaves them)."""
    plan: list[tuple[str, list[dict[str, Any]]]] = [
        ("weekly:2026-W40", [{"state": "sent", "sent_at": now - timedelta(days=50)}] * 2),
        ("weekly:2026-W41", [
            {"state": "sent", "sent_at": now - timedelta(hours=2)},
            {"state": "sent", "sent_at": now - timedelta(hours=2)},
            {"state": "sent", "sent_at": now - timedelta(hours=2),
             "returned": "failed 5.1.1 (recipient): 550 5.1.1 no such user"},
            {"state": "failed", "last_error": "550 5.1.1 no such user"}]),
        ("weekly:2026-W48", [
            {"state": "sent", "sent_at": now - timedelta(minutes=2)},
            {"state": "sent", "sent_at": now - timedelta(minutes=3)},
            {"state": "sent", "sent_at": now - timedelta(minutes=4)},
            {"state": "sent", "sent_at": now - timedelta(minutes=30)},
            {"state": "pending"}, {"state": "pending"},
            {"state": "retry", "next_attempt_at": now + timedelta(minutes=10)},
            {"state": "retry"},  # given back untouched by a stopped sender: due now
            {"state": "unknown", "next_attempt_at": now + timedelta(minutes=5)},
            {"state": "sending", "lease_owner": "h:1:a:b",
             "lease_expires_at": now + timedelta(minutes=9)},
            {"state": "sending", "lease_owner": "h:1:a:b",
             "lease_expires_at": now + timedelta(minutes=9)},
            {"state": "suppressed"}]),
        ("daily:2026-12-01", [
            {"state": "unknown", "next_attempt_at": now - timedelta(minutes=1)},  # due now
            {"state": "unknown"}]),  # settled: never sent again
    ]
    n = 0
    for key, rows in plan:
        edition_id = _edition(engine, key)
        for values in rows:
            sid, _ = upsert_subscriber(engine, SubscriberInput(email=f"s{n}@example.org",
                                                               interests="ssm"),
                                       now=now - timedelta(days=90), status="active",
                                       origin="cli")
            n += 1
            assert ledger.add_delivery(engine, edition_id=edition_id, subscriber_id=sid,
                                       picks=[], quiet=False, now=now - timedelta(hours=1))
            with engine.begin() as conn:
                conn.execute(update(deliveries).where(deliveries.c.edition_id == edition_id,
                                                      deliveries.c.subscriber_id == sid)
                             .values(**values))


def test_each_open_edition_and_the_last_finished_one(engine: Engine) -> None:
    build_ledger(engine, NOW)
    got = edition_progress(engine, now=NOW, since=NOW - timedelta(minutes=10))
    assert got == [
        EditionProgress("weekly:2026-W41", planned=4, sent=3, failed=1, bounced=1),
        EditionProgress("weekly:2026-W48", planned=12, sent=4, due=3, retrying=2, in_flight=2,
                        suppressed=1, sent_recently=3),
        EditionProgress("daily:2026-12-01", planned=2, due=1, unknown=1),
    ]
    assert [p.finished for p in got] == [True, False, False]


def test_a_finished_ledger_shows_only_the_newest_edition(engine: Engine) -> None:
    build_ledger(engine, NOW)
    with engine.begin() as conn:  # the send finishes everything still open
        conn.execute(update(deliveries).where(deliveries.c.state.in_(
            ("pending", "retry", "sending", "unknown"))).values(
            state="sent", sent_at=NOW, next_attempt_at=None, lease_owner=None))
    got = edition_progress(engine, now=NOW, since=NOW - timedelta(minutes=10))
    assert got == [EditionProgress("daily:2026-12-01", planned=2, sent=2, sent_recently=2)]


def test_an_empty_ledger_has_no_progress(engine: Engine) -> None:
    assert edition_progress(engine, now=NOW, since=NOW) == []

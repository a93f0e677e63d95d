"""The ledger under the send loop: leases, renewals, batched outcomes, concurrent claims."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from digest.models import Outcome
from digest.store import claims, leases
from tests.send_world import populate, runtime, states
from tests.smtp_sink import SmtpSink

LEASE = timedelta(seconds=30)


def test_concurrent_claims_never_share_a_row(engine: Engine) -> None:
    populate(engine, [f"c{i}@example.org" for i in range(60)])
    now = datetime.now(UTC)
    got: dict[str, list[int]] = {}

    def claimer(name: str) -> None:
        mine: list[int] = []
        while batch := claims.claim_batch(engine, owner=name, now=now, limit=3, lease=LEASE):
            mine += [c.id for c in batch]
        got[name] = mine

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = [i for ids in got.values() for i in ids]
    assert len(claimed) == 60 and len(set(claimed)) == 60


def test_outcomes_only_land_under_our_own_lease(engine: Engine) -> None:
    populate(engine, ["a@example.org", "b@example.org", "c@example.org"])
    t0 = datetime.now(UTC)
    a, b, c = claims.claim_batch(engine, owner="first", now=t0, limit=3, lease=LEASE)
    # "first" stalls past its lease; "second" reclaims everything.
    later = t0 + LEASE + timedelta(seconds=1)
    again = claims.claim_batch(engine, owner="second", now=later, limit=3, lease=LEASE)
    assert [x.id for x in again] == [a.id, b.id, c.id]
    assert [x.attempts for x in again] == [2, 2, 2]
    applied = claims.record_outcomes(
        engine, [Outcome(a.id, "sent", message_id="<m>", reply="250 ok", transport="smtp")],
        owner="first", now=later)
    assert applied == 0  # the late worker cannot overwrite the new owner's row
    applied = claims.record_outcomes(engine, [
        Outcome(a.id, "sent", message_id="<m>", reply="250 ok", transport="smtp"),
        Outcome(b.id, "retry", error="451", next_attempt_at=later + timedelta(minutes=1)),
        Outcome(c.id, "failed", error="550", bounce_subscriber_id=c.subscriber_id),
    ], owner="second", now=later)
    assert applied == 3
    assert sorted(states(engine).values()) == ["failed", "retry", "sent"]
    assert claims.next_retry_at(engine) == later + timedelta(minutes=1)


def test_renewed_leases_are_not_reclaimed_and_released_rows_come_back(engine: Engine) -> None:
    populate(engine, ["r@example.org", "s@example.org"])
    t0 = datetime.now(UTC)
    held = claims.claim_batch(engine, owner="w", now=t0, limit=2, lease=LEASE)
    t1 = t0 + timedelta(seconds=20)
    assert leases.renew_leases(engine, [h.id for h in held], owner="w", now=t1, lease=LEASE) == 2
    assert claims.claim_batch(engine, owner="x", now=t0 + LEASE + timedelta(seconds=5),
                              limit=5, lease=LEASE) == []
    assert leases.release(engine, [held[0].id], owner="w", now=t1) == 1
    back = claims.claim_batch(engine, owner="x", now=t1, limit=5, lease=LEASE)
    assert [b.id for b in back] == [held[0].id] and back[0].attempts == 1


def test_a_slow_send_keeps_its_lease_alive(sqlite_engine: Engine, tmp_path: Path,
                                           smtp_sink: SmtpSink) -> None:
    """The heartbeat renews leases, so a send slower than the lease is not stolen."""
    populate(sqlite_engine, ["slow@example.org"])
    smtp_sink.handler.slow["slow@example.org"] = [2.5]
    rt = runtime(str(sqlite_engine.url), smtp_sink.port, tmp_path, lease_seconds=1, timeout=10)
    stolen: list[int] = []

    def thief() -> None:
        start = time.monotonic()
        while "sending" not in states(sqlite_engine).values():  # until the sender holds it
            if time.monotonic() - start > 60:
                return
            time.sleep(0.02)
        deadline = time.monotonic() + 2.0  # well past the 1 s lease
        while time.monotonic() < deadline:
            stolen.extend(c.id for c in claims.claim_batch(
                sqlite_engine, owner="thief", now=datetime.now(UTC), limit=5, lease=LEASE))
            time.sleep(0.1)

    spy = threading.Thread(target=thief)
    try:
        spy.start()
        report = rt.delivery.deliver()
    finally:
        spy.join()
        rt.close()
    assert report.sent == 1 and stolen == []
    assert smtp_sink.handler.counts() == {"slow@example.org": 1}


def test_hourly_cap_defers_the_rest_and_holds_across_runs(engine: Engine, db_url: str,
                                                          smtp_sink: SmtpSink,
                                                          tmp_path: Path) -> None:
    populate(engine, [f"h{i}@example.org" for i in range(5)])
    rt = runtime(db_url, smtp_sink.port, tmp_path, hourly_cap=3, pool_size=1)
    try:
        first = rt.delivery.deliver()
        second = rt.delivery.deliver()
    finally:
        rt.close()
    assert first.sent == 3 and first.deferred and "hourly cap" in first.deferred
    assert second.sent == 0  # the three sent a moment ago still count
    assert sorted(states(engine).values()) == ["retry", "retry", "sent", "sent", "sent"]
    assert claims.count_due(engine, now=datetime.now(UTC)) == 2  # released, not lost


def test_gives_up_after_max_attempts(engine: Engine, db_url: str, smtp_sink: SmtpSink,
                                     tmp_path: Path) -> None:
    smtp_sink.handler.script["busy@example.org"] = ["452 4.2.2 mailbox full"] * 5
    populate(engine, ["busy@example.org", "fine@example.org"])
    rt = runtime(db_url, smtp_sink.port, tmp_path, max_attempts=3, retry_base_seconds=0.1,
                 retry_max_seconds=0.2, retry_window_seconds=5)
    try:
        report = rt.delivery.deliver()
    finally:
        rt.close()
    assert smtp_sink.handler.attempts["busy@example.org"] == 3
    assert (report.sent, report.retried, report.failed, report.bounced) == (1, 2, 1, 0)
    assert sorted(states(engine).values()) == ["failed", "sent"]


def test_fresh_rows_are_claimed_before_retries_so_failing_rows_starve_nobody(
        engine: Engine) -> None:
    populate(engine, [f"o{i}@example.org" for i in range(4)])
    t0 = datetime.now(UTC)
    first, second = claims.claim_batch(engine, owner="w", now=t0, limit=2, lease=LEASE)
    claims.record_outcomes(engine, [
        Outcome(first.id, "retry", error="550 5.7.26", next_attempt_at=t0, refund=True),
        Outcome(second.id, "retry", error="451", next_attempt_at=t0 - timedelta(seconds=5)),
    ], owner="w", now=t0)
    later = t0 + timedelta(seconds=1)
    fresh = claims.claim_batch(engine, owner="x", now=later, limit=2, lease=LEASE)
    assert [c.id for c in fresh] == [first.id + 2, first.id + 3]  # never tried: first
    retries = claims.claim_batch(engine, owner="x", now=later, limit=5, lease=LEASE)
    assert [c.id for c in retries] == [second.id, first.id]  # then by when they fell due
    assert [c.attempts for c in retries] == [2, 1]  # the refused-as-sender one was refunded

"""Delivery truth on a whole run: a sender-side block stops early and blames nobody, a relay
refusing every recipient alike suppresses nobody, and a slow or lost reply to the end of
DATA never multiplies a message or fails a delivered one."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from digest.errors import SendMisconfigured
from digest.store.schema import deliveries, subscribers, suppressions
from tests.integration.test_send_blame import EXIM_RELAY, GMAIL_DMARC
from tests.raw_smtp import RawMta
from tests.send_world import populate, runtime, states
from tests.smtp_sink import ScriptedHandler, SmtpSink


def _rows(engine: Engine) -> list[tuple[str, int, int, str | None]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(  # type: ignore[misc]
            deliveries.c.state, deliveries.c.attempts, deliveries.c.outcome_unknown,
            deliveries.c.last_error))]


def _nobody_suppressed(engine: Engine) -> None:
    with engine.connect() as conn:
        assert set(conn.execute(select(subscribers.c.status)).scalars()) == {"active"}
        assert set(conn.execute(select(subscribers.c.hard_bounces)).scalars()) == {0}
        assert conn.execute(select(suppressions)).first() is None


def test_a_dmarc_block_stops_early_and_blames_nobody(sqlite_engine: Engine,
                                                     tmp_path: Path) -> None:
    populate(sqlite_engine, [f"reader{i}@gmail.example" for i in range(60)])
    with RawMta(replies={"data": GMAIL_DMARC}) as mta:
        rt = runtime(str(sqlite_engine.url), mta.port, tmp_path, pool_size=4)
        try:
            with pytest.raises(SendMisconfigured) as stop:
                rt.delivery.deliver()
        finally:
            rt.close()
        data_commands = sum(c.upper() == "DATA" for c in mta.commands)
    line = str(stop.value)
    assert "\n" not in line
    for words in ("SPF", "DKIM", "DMARC", "550 5.7.26", "This mail is unauthenticated"):
        assert words in line
    # Three refusals in a row stop it; at most three more were on the other connections.
    assert 3 <= data_commands <= 3 + 4 - 1
    _nobody_suppressed(sqlite_engine)
    rows = _rows(sqlite_engine)
    # Nothing lost, nothing failed: refused and given-back rows wait for a retry, the rest
    # were never claimed; and our setup spent no reader's attempt.
    assert {state for state, *_ in rows} == {"retry", "pending"}
    assert {attempts for _, attempts, *_ in rows} == {0}


def test_a_relay_refusing_every_recipient_alike_suppresses_nobody(
        engine: Engine, db_url: str, tmp_path: Path) -> None:
    # Code-only "550 relay not permitted" to every RCPT reads like ten bad mailboxes; but
    # the server accepted no message at all in the run, so nobody is blamed.
    populate(engine, [f"reader{i}@example.net" for i in range(10)])
    with RawMta(replies={"rcpt": EXIM_RELAY}) as mta:
        rt = runtime(db_url, mta.port, tmp_path, retry_window_seconds=0)
        try:
            report = rt.delivery.deliver()
        finally:
            rt.close()
    assert (report.sent, report.bounced, report.failed) == (0, 0, 0)
    _nobody_suppressed(engine)
    rows = _rows(engine)
    assert {state for state, *_ in rows} == {"retry"}
    assert all("not held against the reader" in (error or "") for *_, error in rows)


def test_a_35_second_reply_to_the_end_of_data_is_one_copy_each(sqlite_engine: Engine,
                                                                tmp_path: Path) -> None:
    # What is tested is the client's patience (default timeouts), not the ledger: SQLite
    # only, so CI waits the 35 s once (the ledger's backends are covered by the other tests).
    engine, db_url = sqlite_engine, f"sqlite:///{tmp_path / 'digest.db'}"
    emails = [f"slow{i}@example.org" for i in range(9)]
    ids = populate(engine, emails)
    handler = ScriptedHandler(data_delay=35.0, keep_abandoned=True)
    with SmtpSink(handler) as sink:
        rt = runtime(db_url, sink.port, tmp_path, pool_size=9)  # default timeouts
        try:
            report = rt.delivery.deliver()
        finally:
            rt.close()
        counts = sink.handler.counts()
    assert counts == {e: 1 for e in emails}
    assert report.sent == 9 and report.unknown == 0
    assert set(states(engine).values()) == {"sent"}
    assert set(ids.values()) == set(states(engine))


def test_a_lost_reply_is_outcome_unknown_and_sent_at_most_once_more(
        engine: Engine, db_url: str, tmp_path: Path) -> None:
    # DATA timeout 1 s; "late" answers after 3 s twice, "once" only on the first attempt.
    late = [f"late{i}@example.org" for i in range(3)]
    once = [f"once{i}@example.org" for i in range(3)]
    fine = ["fine@example.org"]
    ids = populate(engine, late + once + fine)
    # A server that keeps every message it fully read, whether or not the client stayed
    # for its answer: the worst case for duplicates.
    slow = {e: [3.0, 3.0, 3.0] for e in late} | {e: [3.0, 0.0] for e in once}
    with RawMta(slow=slow) as mta:
        rt = runtime(db_url, mta.port, tmp_path, data_timeout=1, unknown_retry_seconds=0.5,
                     retry_window_seconds=20, pool_size=4)
        try:
            report = rt.delivery.deliver()
            again = rt.delivery.deliver()  # nothing more: a final unknown is never resent
        finally:
            rt.close()
        counts = mta.counts()
    assert max(counts.values()) <= 2  # never N blind retries
    assert {e: counts[e] for e in late} == {e: 2 for e in late}
    assert {e: counts[e] for e in once} == {e: 2 for e in once}  # the first may have landed
    assert counts["fine@example.org"] == 1
    final = states(engine)
    assert {final[ids[e]] for e in late} == {"unknown"}
    assert {final[ids[e]] for e in once + fine} == {"sent"}
    assert "failed" not in final.values()
    assert report.unknown == 3 and again.sent == 0 and again.unknown == 0
    with engine.connect() as conn:
        unknown_rows = conn.execute(select(deliveries.c.outcome_unknown, deliveries.c.last_error,
                                           deliveries.c.next_attempt_at)
                                    .where(deliveries.c.state == "unknown")).all()
    assert len(unknown_rows) == 3
    for count, error, next_at in unknown_rows:
        assert count == 2 and next_at is None
        assert "outcome unknown" in error and "not sent again" in error

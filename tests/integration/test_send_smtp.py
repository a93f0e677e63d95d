"""The send loop against a real aiosmtpd server whose replies are scripted per recipient."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from digest.addresses import address_hash
from digest.errors import SendMisconfigured
from digest.store.schema import deliveries
from digest.store.subscribers import get_subscriber, is_suppressed, set_status
from tests.send_world import populate, runtime, states
from tests.smtp_sink import SmtpSink

FAST_RETRY = {"retry_base_seconds": 0.2, "retry_max_seconds": 0.5, "retry_window_seconds": 10,
              "pool_size": 3, "timeout": 1.5}


def test_scripted_failures_each_deliverable_gets_exactly_one(
        engine: Engine, db_url: str, smtp_sink: SmtpSink, tmp_path: Path) -> None:
    ok = [f"ok{i}@example.org" for i in range(6)]
    odd = {
        "soft@example.org": lambda h: h.script.update({"soft@example.org": ["451 4.3.0 later"]}),
        "hard@example.org": lambda h: h.script.update({"hard@example.org": ["550 5.1.1 no such"]}),
        "cut@example.org": lambda h: h.script.update({"cut@example.org": ["drop"]}),
        "busy@example.org": lambda h: h.script.update({"busy@example.org": ["421 4.3.2 bye"]}),
        "datacut@example.org": lambda h: h.data_script.update(
            {"datacut@example.org": ["421 4.4.2 shutting down"]}),
        "slow@example.org": lambda h: h.slow.update({"slow@example.org": [4.0]}),
        "lagging@example.org": lambda h: h.slow.update({"lagging@example.org": [0.5]}),
    }
    for configure in odd.values():
        configure(smtp_sink.handler)
    ids = populate(engine, ok + list(odd))
    rt = runtime(db_url, smtp_sink.port, tmp_path, **FAST_RETRY)
    try:
        report = rt.delivery.deliver()
        counts = smtp_sink.handler.counts()
        deliverable = [e for e in ids if e != "hard@example.org"]
        assert {e: counts.get(e, 0) for e in deliverable} == {e: 1 for e in deliverable}
        assert counts.get("hard@example.org", 0) == 0
        assert report.sent == len(deliverable)
        assert report.failed == 1 and report.bounced == 1
        # soft, cut, busy, datacut; "slow" answers the end of DATA after 4 s, longer than
        # the 1.5 s command timeout but well within the DATA timeout: delivered first time.
        assert report.retried == 4
        final = states(engine)
        assert final[ids["hard@example.org"]] == "failed"
        assert all(final[ids[e]] == "sent" for e in deliverable)
        hard = get_subscriber(engine, subscriber_id=ids["hard@example.org"])
        assert hard is not None and hard.status == "bounced"
        assert is_suppressed(engine, address_hash("hard@example.org"))
        with engine.connect() as conn:
            row = conn.execute(select(deliveries).where(
                deliveries.c.subscriber_id == ids["ok0@example.org"])).one()
        assert row.smtp_reply.startswith("250") and row.message_id and row.sent_at
        received = smtp_sink.handler.to("ok0@example.org")[0].message
        assert received["Message-ID"] == row.message_id

        again = rt.delivery.deliver()
        assert (again.sent, again.failed, again.retried) == (0, 0, 0)
        assert smtp_sink.handler.counts() == counts
    finally:
        rt.close()


def test_connections_are_reused_and_capped(engine: Engine, db_url: str, smtp_sink: SmtpSink,
                                           tmp_path: Path) -> None:
    populate(engine, [f"r{i}@example.org" for i in range(12)])
    rt = runtime(db_url, smtp_sink.port, tmp_path, pool_size=2, max_per_connection=4)
    try:
        report = rt.delivery.deliver()
    finally:
        rt.close()
    assert report.sent == 12
    # 12 messages, at most 4 per connection: at least 3 connections, and far fewer than 12.
    assert 3 <= smtp_sink.handler.connections <= 6


def test_hard_bounce_threshold_counts_bounces_before_suppressing(
        engine: Engine, db_url: str, smtp_sink: SmtpSink, tmp_path: Path) -> None:
    smtp_sink.handler.script["hb@example.org"] = ["550 5.1.1 unknown"]
    ids = populate(engine, ["hb@example.org"])
    rt = runtime(db_url, smtp_sink.port, tmp_path, hard_bounce_threshold=2)
    try:
        report = rt.delivery.deliver()
    finally:
        rt.close()
    assert report.failed == 1
    sub = get_subscriber(engine, subscriber_id=ids["hb@example.org"])
    assert sub is not None and sub.status == "active"  # one bounce of two allowed
    assert not is_suppressed(engine, address_hash("hb@example.org"))


def test_a_refused_connection_stops_the_run_naming_the_settings(engine: Engine, db_url: str,
                                                                tmp_path: Path) -> None:
    from tests.smtp_sink import free_port

    populate(engine, [f"n{i}@example.org" for i in range(8)])
    rt = runtime(db_url, free_port(), tmp_path, abort_after_consecutive_failures=20,
                 pool_size=1, timeout=2)  # nothing listens on that port
    try:
        # Two connections refused alike, none ever opened: the setup, not 8 readers.
        with pytest.raises(SendMisconfigured, match=r"connection refused.*DIGEST_SMTP__HOST "
                                                    r"and DIGEST_SMTP__PORT"):
            rt.delivery.deliver()
    finally:
        rt.close()
    final = states(engine)
    # The tried ones wait for a retry, the rest were released untouched: nothing lost, and
    # no attempt spent, since no message ever reached a server.
    assert sorted(final.values()).count("retry") == 8
    assert "sending" not in final.values()
    with engine.connect() as conn:
        assert {a for (a,) in conn.execute(select(deliveries.c.attempts))} == {0}


def test_unsubscribe_during_a_send_is_honoured(engine: Engine, db_url: str,
                                               smtp_sink: SmtpSink, tmp_path: Path) -> None:
    emails = [f"u{i}@example.org" for i in range(6)]
    ids = populate(engine, emails)
    leaver = emails[-1]
    smtp_sink.handler.slow["u0@example.org"] = [0.5]
    seen: list[int] = []

    def on_progress(done: int) -> None:
        if done == 1 and not seen:  # the first message is out; the leaver's is not yet built
            seen.append(done)
            set_status(engine, ids[leaver], "unsubscribed", now=datetime.now(UTC))

    rt = runtime(db_url, smtp_sink.port, tmp_path, pool_size=1)
    try:
        report = rt.delivery.deliver(on_progress=on_progress)
    finally:
        rt.close()
    assert seen
    assert smtp_sink.handler.counts().get(leaver, 0) == 0
    assert report.suppressed == 1 and report.sent == 5
    assert states(engine)[ids[leaver]] == "suppressed"


def test_limit_and_only(engine: Engine, db_url: str, smtp_sink: SmtpSink,
                        tmp_path: Path) -> None:
    populate(engine, [f"l{i}@example.org" for i in range(5)])
    rt = runtime(db_url, smtp_sink.port, tmp_path)
    try:
        assert rt.delivery.deliver(only="l3@example.org").recipients == ["l3@example.org"]
        assert rt.delivery.deliver(limit=2).sent == 2
        assert rt.delivery.deliver().sent == 2
    finally:
        rt.close()
    assert smtp_sink.handler.counts() == {f"l{i}@example.org": 1 for i in range(5)}


def test_a_message_that_cannot_be_built_fails_alone(sqlite_engine: Engine,
                                                     tmp_path: Path) -> None:
    # A stored address that never passed validation (edited into the database by hand)
    # cannot become a To header: that row fails, the rest go, an internationalized one too.
    bad = "two words@example.org"
    ids = populate(sqlite_engine, [bad, "josé@example.org", "plain@example.org"])
    with SmtpSink() as sink:  # aiosmtpd offers SMTPUTF8
        rt = runtime(str(sqlite_engine.url), sink.port, tmp_path, max_attempts=1)
        try:
            report = rt.delivery.deliver()
        finally:
            rt.close()
        assert sink.handler.counts() == {"plain@example.org": 1, "josé@example.org": 1}
        (got,) = sink.handler.to("josé@example.org")
        assert "To: josé@example.org\r\n".encode() in got.data  # raw UTF-8 (RFC 6532)
    assert (report.sent, report.failed, report.bounced) == (2, 1, 0)
    assert "cannot build" in report.errors[0]
    sub = get_subscriber(sqlite_engine, subscriber_id=ids[bad])
    assert sub is not None and sub.status == "active"  # not the mailbox's fault


def test_smtputf8_recipients_need_a_server_that_supports_it() -> None:
    from digest.config import SmtpSettings
    from digest.errors import DeliveryError
    from digest.send.smtp import SmtpTransport

    data = b"From: d@example.org\r\nTo: x\r\nSubject: hi\r\n\r\nhello\r\n"

    async def send(port: int) -> None:
        transport = SmtpTransport(SmtpSettings(host="127.0.0.1", port=port))
        try:
            await transport.send(data, sender="d@example.org", recipient="josé@example.org",
                                 message_id="<1@example.org>")
        finally:
            await transport.close()

    with SmtpSink(enable_SMTPUTF8=False) as legacy:
        with pytest.raises(DeliveryError) as refused:
            asyncio.run(send(legacy.port))
        assert refused.value.permanent and refused.value.code is None
        # The reason is stated: which address, what it needs, and that the relay lacks it.
        for words in ("josé@example.org", "non-ASCII local part", "SMTPUTF8", "RFC 6531",
                      "does not offer it"):
            assert words in str(refused.value)
    with SmtpSink() as modern:  # aiosmtpd's Controller offers SMTPUTF8 by default
        asyncio.run(send(modern.port))
        assert modern.handler.counts() == {"josé@example.org": 1}


def test_the_send_loop_paces_every_message_through_the_rate_limiter(
        sqlite_engine: Engine, tmp_path: Path, smtp_sink: SmtpSink) -> None:
    from digest.send.delivery_loop import deliver_due
    from digest.send.pacing import RateLimiter

    populate(sqlite_engine, [f"p{i}@example.org" for i in range(6)])
    rt = runtime(str(sqlite_engine.url), smtp_sink.port, tmp_path, pool_size=3)
    booked: list[float] = []

    async def no_sleep(seconds: float) -> None:  # record the pacing, skip the waiting
        booked.append(seconds)

    limiter = RateLimiter(2.0, monotonic=lambda: 0.0, sleep=no_sleep)

    async def go() -> int:
        transport = rt.transport()
        try:
            report = await deliver_due(rt.ledger(), transport, rt.delivery.build,
                                       owner="pacer", smtp=rt.settings.smtp, limiter=limiter)
        finally:
            await transport.close()
        return report.sent

    try:
        assert asyncio.run(go()) == 6
    finally:
        rt.close()
    # With the clock frozen, message k waits k/2 s: one slot per half second, none shared.
    assert sorted(booked) == [0.5, 1.0, 1.5, 2.0, 2.5]


def test_a_suppressed_address_gets_nothing_real_or_dry_run(engine: Engine, db_url: str,
                                                            smtp_sink: SmtpSink,
                                                            tmp_path: Path) -> None:
    # Still "active", but the address is on the suppression list (e.g. deleted and re-added
    # by an import): both the dry run and the real send must skip it.
    from digest.store.subscribers import suppress_address

    emails = ["s0@example.org", "s1@example.org"]
    ids = populate(engine, emails)
    suppress_address(engine, address_hash("s1@example.org"), reason="test",
                     now=datetime.now(UTC))
    rt = runtime(db_url, smtp_sink.port, tmp_path)
    try:
        dry = rt.delivery.deliver(dry_run=True)
        assert dry.recipients == ["s0@example.org"] and dry.suppressed == 1
        real = rt.delivery.deliver()
    finally:
        rt.close()
    assert real.recipients == ["s0@example.org"] and real.suppressed == 1
    assert smtp_sink.handler.counts() == {"s0@example.org": 1}
    assert states(engine)[ids["s1@example.org"]] == "suppressed"

"""The inbound listener of ``digest run`` (DIGEST_INBOUND__LISTEN), as a real process: the
same bounces, complaint, auto-reply and requests as through ``digest inbound``, delivered
over SMTP; it relays nothing and refuses what is too large. Then the next edition skips
exactly the reader whose digest hard-bounced."""

from __future__ import annotations

import smtplib
import socket
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from digest.models import EditionInfo
from digest.store import ledger
from digest.store.schema import deliveries, subscribers
from tests.e2e.test_service_process import Node, wait_for
from tests.inbound_world import CASES, FIXTURES, LIST, env_for, fill, seen, send_digests
from tests.send_world import papers
from tests.smtp_sink import SmtpSink, free_port


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def deliver(port: int, raw: bytes, *, sender: str, to: str) -> None:
    wire = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")  # SMTP lines end in CRLF
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.sendmail(sender, [to], wire)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_listener_handles_what_comes_back_and_relays_nothing(
        db_url: str, smtp_sink: SmtpSink, tmp_path: Path) -> None:
    rt = send_digests(db_url, smtp_sink, tmp_path)
    port = free_port()
    env = env_for(db_url, smtp_sink, tmp_path)
    env.update(DIGEST_INBOUND__LISTEN=f"127.0.0.1:{port}", DIGEST_INBOUND__MAX_BYTES="200000",
               DIGEST_SCHEDULE__FIRST_EDITION="on_schedule")
    node = Node(tmp_path, env, "listener")
    try:
        wait_for(lambda: listening(port), "the inbound listener")
        mailed = len(smtp_sink.handler.received)
        for case in CASES:
            [sent] = smtp_sink.handler.to(case.reader)
            raw = fill(case.fixture, smtp_sink, case.reader)
            # DSNs come from the null sender to the VERP address; ARF from a provider.
            deliver(port, raw, sender="" if "@@BOUNCE@@" in (
                FIXTURES / "returns" / case.fixture).read_text() else "fbl@example.com",
                to=sent.sender)
            got = seen(rt.engine, case.reader)
            assert (got.state, got.status, got.suppressed) == (
                case.state, case.status, case.suppressed), case
            assert got.events == [case.event], case
        assert len(smtp_sink.handler.received) == mailed  # nothing answered

        deliver(port, (FIXTURES / "returns" / "subscribe.eml").read_bytes(),
                sender="newcomer@example.net", to=LIST)
        with rt.engine.connect() as conn:
            status = conn.execute(select(subscribers.c.status).where(
                subscribers.c.email == "newcomer@example.net")).scalar()
        assert status == "pending"
        assert len(smtp_sink.handler.to("newcomer@example.net")) == 1  # the confirmation

        # No relaying: any other recipient is refused at RCPT, and nothing is handled.
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            client.ehlo()
            client.mail("spammer@example.com")
            code, _ = client.rcpt("victim@elsewhere.example")
            assert code == 550
            code, _ = client.rcpt("bounces+d1-aaaaaaaaaaaaaaaa@bounce.example.org")
            assert code == 550  # a forged bounce address is no address of ours
        # Too large: 552 (RFC 5321 §4.5.3.1.10), nothing stored.
        big = b"Subject: subscribe\nFrom: big@example.net\n\n" + (b"x" * 98 + b"\n") * 3000
        with pytest.raises(smtplib.SMTPException) as refused:
            deliver(port, big, sender="big@example.net", to=LIST)
        assert "552" in str(refused.value)
        with rt.engine.connect() as conn:
            assert conn.execute(select(subscribers.c.id).where(
                subscribers.c.email == "big@example.net")).first() is None
        assert node.stop(timeout=60) == 0
    finally:
        node.kill()
        rt.close()


def test_the_next_edition_skips_exactly_the_reader_whose_digest_bounced(
        db_url: str, smtp_sink: SmtpSink, tmp_path: Path) -> None:
    import subprocess
    import sys

    rt = send_digests(db_url, smtp_sink, tmp_path)
    try:
        readers = sorted(smtp_sink.handler.counts())
        raw = fill("postfix_hard_5.1.1.eml", smtp_sink, "calm@example.net")
        path = tmp_path / "dsn.eml"
        path.write_bytes(raw)
        result = subprocess.run([sys.executable, "-m", "digest.cli", "inbound", str(path)],
                                env=env_for(db_url, smtp_sink, tmp_path), cwd=tmp_path,
                                capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0 and result.stdout.startswith("bounce:"), result
        before = smtp_sink.handler.counts()

        # The next week's edition: a row for every reader, as planning wrote them before
        # the bounce came back (the send re-checks each reader right before each message).
        with rt.engine.connect() as conn:
            first = conn.execute(select(deliveries.c.sent_at)).scalars().first()
            ids = dict(conn.execute(select(subscribers.c.email, subscribers.c.id)).all())
        assert first is not None
        next_week = first + timedelta(days=7)
        edition = ledger.ensure_edition(rt.engine, EditionInfo(
            key="weekly:next", frequency="weekly", period_start=next_week,
            period_end=next_week + timedelta(days=7)), now=next_week)
        picks = [{"id": p.id, "score": 0.5, "reasons": ["matches your interests"]}
                 for p in papers()]
        for reader in readers:
            ledger.add_delivery(rt.engine, edition_id=edition, subscriber_id=ids[reader],
                                picks=picks, quiet=False, now=next_week)
        report = rt.delivery.deliver(clock=lambda: next_week)
        assert (report.sent, report.suppressed) == (len(readers) - 1, 1)
        after = smtp_sink.handler.counts()
        got_next = {r for r in readers if after.get(r, 0) > before.get(r, 0)}
        assert got_next == set(readers) - {"calm@example.net"}
    finally:
        rt.close()

"""VERP on the wire: through a real SMTP server, each digest's envelope sender (MAIL FROM,
which the receiving MTA turns into Return-Path) names its own delivery row; notices name
the subscriber they went to. Without DIGEST_BOUNCE_ADDRESS nothing changes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from digest.config import load_settings
from digest.models import SubscriberInput
from digest.runtime import Runtime
from digest.send.verp import BounceRef, Verp
from digest.store.schema import deliveries
from tests.send_world import SECRET, populate
from tests.smtp_sink import SmtpSink

BOUNCES = "bounces@bounce.example.org"


def make_runtime(db_url: str, port: int, tmp: Path, bounce: str | None) -> Runtime:
    return Runtime(load_settings(
        database_url=db_url, secret_key=SECRET, from_address="digest@example.org",
        bounce_address=bounce, outbox_dir=tmp / "outbox",
        smtp={"host": "127.0.0.1", "port": port}))


def test_each_digest_goes_out_from_its_own_signed_bounce_address(
        db_url: str, smtp_sink: SmtpSink, tmp_path: Path) -> None:
    rt = make_runtime(db_url, smtp_sink.port, tmp_path, BOUNCES)
    try:
        ids = populate(rt.engine, ["ana@example.net", "ben@example.net"])
        report = rt.delivery.deliver()
        assert report.sent == 2
        with rt.engine.connect() as conn:
            rows = dict(conn.execute(select(deliveries.c.subscriber_id, deliveries.c.id)).all())
        verp = Verp(BOUNCES, SECRET)
        for email, sid in ids.items():
            [got] = smtp_sink.handler.to(email)
            assert got.sender.startswith("bounces+d") and got.sender.endswith(
                "@bounce.example.org")
            assert verp.read(got.sender) == BounceRef("delivery", rows[sid])
            assert got.message["From"].addresses[0].addr_spec == "digest@example.org"

        # A notice (here the confirmation of a new sign-up) names its subscriber.
        result = asyncio.run(rt.subscriptions.subscribe(
            SubscriberInput(email="cleo@example.net", interests="graphs"),
            now=datetime.now(UTC)))
        [confirm] = smtp_sink.handler.to("cleo@example.net")
        assert verp.read(confirm.sender) == BounceRef("notice", result.subscriber_id or -1)
    finally:
        rt.close()


def test_without_the_setting_the_envelope_sender_is_the_from_address(
        db_url: str, smtp_sink: SmtpSink, tmp_path: Path) -> None:
    rt = make_runtime(db_url, smtp_sink.port, tmp_path, None)
    try:
        populate(rt.engine, ["ana@example.net"])
        assert rt.delivery.deliver().sent == 1
        [got] = smtp_sink.handler.to("ana@example.net")
        assert got.sender == "digest@example.org"
    finally:
        rt.close()

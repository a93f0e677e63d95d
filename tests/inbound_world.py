"""Test support for mail that comes back: a list whose digests went out through a real SMTP
sink with VERP envelope senders, and the fixtures of tests/fixtures/returns filled in with
the bounce address each reader's digest really went out from.

``CASES`` says, for each fixture, what handling it must lead to — written from the RFCs and
the providers' documented meaning, not from the code's output.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, select

from digest.config import load_settings
from digest.runtime import Runtime
from digest.store.schema import deliveries, inbound_events, subscribers, suppressions
from tests.send_world import SECRET, populate
from tests.smtp_sink import SmtpSink

FIXTURES = Path(__file__).resolve().parent / "fixtures"
BOUNCES = "bounces@bounce.example.org"
LIST = "digest@example.org"


@dataclass(frozen=True)
class Case:
    """A fixture, the reader it is about, and what must follow: the row's state, the
    reader's status, whether the address is suppressed, and the event kind recorded."""

    fixture: str
    reader: str
    state: str
    status: str
    suppressed: bool
    event: str


# The readers each case concerns are distinct, so all cases can run on one list.
CASES = [
    Case("postfix_hard_5.1.1.eml", "hard@example.net", "failed", "bounced", True, "bounce"),
    Case("ses_hard_5.1.1.eml", "ses@example.net", "failed", "bounced", True, "bounce"),
    Case("qmail_failure_notice.eml", "qmail@example.net", "failed", "bounced", True, "bounce"),
    Case("gmail_soft_5.2.2_over_quota.eml", "full@example.net", "failed", "active", False,
         "bounce"),
    Case("gmail_dmarc_5.7.26.eml", "dmarc@example.net", "failed", "active", False, "bounce"),
    Case("postfix_delayed_4.4.1.eml", "slow@example.net", "sent", "active", False, "delay"),
    Case("arf_abuse.eml", "spam@example.net", "sent", "unsubscribed", True, "complaint"),
    Case("out_of_office.eml", "away@example.net", "sent", "active", False, "auto-reply"),
]
READERS = [case.reader for case in CASES] + ["calm@example.net"]


def settings_for(db_url: str, sink: SmtpSink, tmp: Path) -> dict[str, object]:
    return {"database_url": db_url, "secret_key": SECRET, "from_address": LIST,
            "bounce_address": BOUNCES, "outbox_dir": tmp / "outbox",
            "smtp": {"host": sink.host, "port": sink.port}}


def env_for(db_url: str, sink: SmtpSink, tmp: Path) -> dict[str, str]:
    """The same settings as environment variables, for a ``digest`` subprocess."""
    import os

    env = {k: v for k, v in os.environ.items()
           if not k.startswith("DIGEST_") and k not in ("SENDER", "ORIGINAL_RECIPIENT")}
    env.update(DIGEST_DATABASE_URL=db_url, DIGEST_SECRET_KEY=SECRET,
               DIGEST_FROM_ADDRESS=LIST, DIGEST_BOUNCE_ADDRESS=BOUNCES,
               DIGEST_OUTBOX_DIR=str(tmp / "outbox"), DIGEST_SMTP__HOST=sink.host,
               DIGEST_SMTP__PORT=str(sink.port),
               DIGEST_SUBSCRIBERS_DIR=str(tmp / "no-subscribers"),
               DIGEST_FEEDS=str(tmp / "none"))
    return env


def send_digests(db_url: str, sink: SmtpSink, tmp: Path) -> Runtime:
    """Every reader gets this edition's digest through the sink; returns the runtime."""
    rt = Runtime(load_settings(**settings_for(db_url, sink, tmp)))  # type: ignore[arg-type]
    populate(rt.engine, READERS)
    report = rt.delivery.deliver()
    assert report.sent == len(READERS), report.errors
    return rt


def fill(name: str, sink: SmtpSink, reader: str, *, bounce: str | None = None) -> bytes:
    """A fixture as it would come back for ``reader``'s digest: addressed to the envelope
    sender that digest really used (or ``bounce``), quoting its List-Unsubscribe."""
    [sent] = sink.handler.to(reader)
    text = (FIXTURES / "returns" / name).read_text()
    list_unsubscribe = " ".join(str(sent.message["List-Unsubscribe"]).split())
    return (text.replace("@@BOUNCE@@", bounce or sent.sender).replace("@@RCPT@@", reader)
            .replace("@@LISTUNSUB@@", list_unsubscribe).encode())


@dataclass(frozen=True)
class Seen:
    state: str
    status: str
    suppressed: bool
    returned: str | None
    events: list[str]


def seen(engine: Engine, reader: str) -> Seen:
    """What the store says about ``reader``: their row, their status, their events."""
    from digest.addresses import address_hash

    with engine.connect() as conn:
        sub = conn.execute(select(subscribers.c.id, subscribers.c.status)
                           .where(subscribers.c.email == reader)).one()
        row = conn.execute(select(deliveries.c.state, deliveries.c.returned)
                           .where(deliveries.c.subscriber_id == sub.id)).one()
        barred = conn.execute(select(suppressions.c.reason).where(
            suppressions.c.address_hash == address_hash(reader))).first()
        events = [k for (k,) in conn.execute(select(inbound_events.c.kind).where(
            inbound_events.c.subscriber_id == sub.id).order_by(inbound_events.c.id))]
    return Seen(row.state, sub.status, barred is not None, row.returned, events)


def all_events(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [k for (k,) in conn.execute(select(inbound_events.c.kind)
                                           .order_by(inbound_events.c.id))]

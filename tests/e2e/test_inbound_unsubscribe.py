"""Unsubscribe by email: the List-Unsubscribe mailto, answered as a mail client would and
piped to `digest inbound` as an MTA alias would."""

from __future__ import annotations

import re
import subprocess
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import create_engine, select

from digest.store.schema import subscribers
from tests.e2e.test_run_once import run


def statuses(workdir: Path) -> dict[str, str]:
    engine = create_engine(f"sqlite:///{workdir / 'digest.db'}")
    with engine.connect() as conn:
        rows = dict(conn.execute(select(subscribers.c.email, subscribers.c.status)).all())
    engine.dispose()
    return rows


def request(to: str, subject: str, body: str = "") -> bytes:
    """The message a mail client sends for a mailto: link."""
    msg = EmailMessage()
    msg["From"] = "someone@example.net"
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body or "\n")
    return msg.as_bytes()


def inbound(workdir: Path, raw: bytes) -> subprocess.CompletedProcess[str]:
    path = workdir / "incoming.eml"
    path.write_bytes(raw)
    return run(workdir, "inbound", str(path))


def test_the_mailto_in_a_digest_unsubscribes_its_reader(workdir: Path) -> None:
    assert run(workdir, "run", "--once").returncode == 0
    eml = sorted((workdir / "outbox").glob("*.eml"))[0]
    digest = message_from_bytes(eml.read_bytes(), policy=policy.default)
    reader = digest["To"].addresses[0].addr_spec
    mailto = re.search(r"<(mailto:[^>]+)>", str(digest["List-Unsubscribe"])).group(1)  # type: ignore[union-attr]
    target = urlsplit(mailto)
    subject = parse_qs(target.query)["subject"][0]
    assert subject.startswith("unsubscribe ")
    before = statuses(workdir)
    assert before[reader] == "active"

    # Junk, a tampered token and a token made for another purpose change nothing, quietly
    # (exit 0: a bounce would go back to a possibly forged sender).
    preferences = re.search(r"/preferences/([A-Za-z0-9_.-]+)", digest.as_string()).group(1)  # type: ignore[union-attr]
    for raw in (b"not a message at all", request(unquote(target.path), "hello"),
                request(unquote(target.path), subject[:-3] + "xyz"),
                request(unquote(target.path), f"unsubscribe {preferences}")):
        result = inbound(workdir, raw)
        assert result.returncode == 0, result.stderr
        assert "ignored" in result.stderr
    assert statuses(workdir) == before

    result = inbound(workdir, request(unquote(target.path), subject))
    assert result.returncode == 0, result.stderr
    assert "unsubscribed" in result.stdout
    after = statuses(workdir)
    assert after[reader] == "unsubscribed"
    assert {k: v for k, v in after.items() if k != reader} == {
        k: v for k, v in before.items() if k != reader}

    # A client that puts the request in the body works too, and repeating it is harmless.
    again = inbound(workdir, request(unquote(target.path), "Re: your digest", body=subject))
    assert again.returncode == 0 and "unsubscribed" in again.stdout

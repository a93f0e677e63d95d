"""Mail that comes back, piped to ``digest inbound`` as an MTA alias would: real-shaped
bounces, a complaint, auto-replies and people's requests, after digests really went out
through an SMTP server with VERP envelope senders. Each asserts the ledger row, the
reader's status and what digest mailed (or, mostly, did not mail) in answer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from digest.send.verp import Verp
from digest.store.schema import subscribers
from tests.inbound_world import (
    BOUNCES,
    CASES,
    FIXTURES,
    all_events,
    env_for,
    fill,
    seen,
    send_digests,
)
from tests.send_world import SECRET
from tests.smtp_sink import SmtpSink


def inbound(env: dict[str, str], tmp: Path, raw: bytes, *args: str,
            extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    path = tmp / "incoming.eml"
    path.write_bytes(raw)
    return subprocess.run([sys.executable, "-m", "digest.cli", "inbound", str(path), *args],
                          env={**env, **(extra or {})}, cwd=tmp, capture_output=True,
                          text=True, timeout=120, check=False)


def test_bounces_complaints_and_auto_replies_through_digest_inbound(
        db_url: str, smtp_sink: SmtpSink, tmp_path: Path) -> None:
    rt = send_digests(db_url, smtp_sink, tmp_path)
    env = env_for(db_url, smtp_sink, tmp_path)
    mailed = len(smtp_sink.handler.received)
    try:
        for case in CASES:
            result = inbound(env, tmp_path, fill(case.fixture, smtp_sink, case.reader))
            assert result.returncode == 0, (case, result.stdout, result.stderr)
            assert result.stdout.startswith(f"{case.event}:"), (case, result.stdout)
            got = seen(rt.engine, case.reader)
            assert (got.state, got.status, got.suppressed) == (
                case.state, case.status, case.suppressed), case
            assert got.events == [case.event], case
        # The reader nothing came back for is untouched.
        calm = seen(rt.engine, "calm@example.net")
        assert (calm.state, calm.status, calm.suppressed, calm.events) == (
            "sent", "active", False, [])
        # What came back is on the rows: the status and the remote server's words.
        assert "5.1.1" in (seen(rt.engine, "hard@example.net").returned or "")
        assert "complaint" in (seen(rt.engine, "spam@example.net").returned or "")
        # Nothing is ever answered: no goodbye to a complainer, no reply to a bounce.
        assert len(smtp_sink.handler.received) == mailed

        # `digest status` shows it: per edition, bounces by who is at fault (3 bad
        # mailboxes, 1 full one, 1 DMARC refusal of us), the delay and the complaint.
        status = subprocess.run([sys.executable, "-m", "digest.cli", "status", "--json"],
                                env=env, cwd=tmp_path, capture_output=True, text=True,
                                timeout=120, check=True)
        [edition] = json.loads(status.stdout)["returns"]
        assert (edition["sent"], edition["bounces"], edition["delays"],
                edition["complaints"]) == (
            9, {"recipient": 3, "transient": 1, "sender": 1}, 1, 1)
        assert json.loads(status.stdout)["inbound"] == {
            "bounce": 5, "delay": 1, "complaint": 1, "auto-reply": 1}
        shown = subprocess.run([sys.executable, "-m", "digest.cli", "status"], env=env,
                               cwd=tmp_path, capture_output=True, text=True, timeout=120,
                               check=True).stdout
        assert "(9 sent): bounces 5 (3 recipient, 1 sender, 1 transient), delays 1, " \
               "complaints 1" in " ".join(shown.split())
    finally:
        rt.close()


def test_a_forged_token_or_one_for_another_row_changes_nothing(
        db_url: str, smtp_sink: SmtpSink, tmp_path: Path) -> None:
    rt = send_digests(db_url, smtp_sink, tmp_path)
    env = env_for(db_url, smtp_sink, tmp_path)
    try:
        [calm_digest] = smtp_sink.handler.to("calm@example.net")
        real = calm_digest.sender
        forged = [
            real[:real.index("@") - 1] + ("a" if real[real.index("@") - 1] != "a" else "b")
            + real[real.index("@"):],  # one character of the MAC changed
            Verp(BOUNCES, "not-our-secret").address("delivery", 1),  # minted elsewhere
            Verp(BOUNCES, SECRET).address("delivery", 999_999),  # a row that does not exist
            "digest@example.org",  # no token at all
        ]
        for address in forged:
            result = inbound(env, tmp_path, fill("postfix_hard_5.1.1.eml", smtp_sink,
                                                 "calm@example.net", bounce=address))
            assert result.returncode == 0, result.stderr
            assert result.stderr.startswith("ignored:"), (address, result.stdout)
        calm = seen(rt.engine, "calm@example.net")
        assert (calm.state, calm.status, calm.suppressed, calm.returned) == (
            "sent", "active", False, None)
        # A bounce about calm@ in its text but sent to hard@'s row blames hard@'s row only:
        # the text is never trusted to say who bounced.
        [hard_digest] = smtp_sink.handler.to("hard@example.net")
        raw = fill("postfix_hard_5.1.1.eml", smtp_sink, "calm@example.net",
                   bounce=hard_digest.sender)
        assert inbound(env, tmp_path, raw).returncode == 0
        assert seen(rt.engine, "calm@example.net").status == "active"
        assert seen(rt.engine, "hard@example.net").status == "bounced"
    finally:
        rt.close()


def test_subscribe_help_and_unsubscribe_by_mail(db_url: str, smtp_sink: SmtpSink,
                                                tmp_path: Path) -> None:
    rt = send_digests(db_url, smtp_sink, tmp_path)
    env = env_for(db_url, smtp_sink, tmp_path)
    try:
        raw = (FIXTURES / "returns" / "subscribe.eml").read_bytes()
        result = inbound(env, tmp_path, raw)
        assert result.returncode == 0 and result.stdout.startswith("subscribe:"), result
        with rt.engine.connect() as conn:
            row = conn.execute(select(subscribers.c.id, subscribers.c.status,
                                      subscribers.c.interests)
                               .where(subscribers.c.email == "newcomer@example.net")).one()
        assert row.status == "pending"  # double opt-in: nothing until the link is clicked
        assert row.interests.startswith("state space models for long sequences")
        [confirm] = smtp_sink.handler.to("newcomer@example.net")
        assert "/confirm/" in confirm.data.decode()
        assert Verp(BOUNCES, SECRET).read(confirm.sender) is not None  # bounces come back
        # Asked again at once: rate-limited per address, nothing more is mailed.
        assert inbound(env, tmp_path, raw).returncode == 0
        assert len(smtp_sink.handler.to("newcomer@example.net")) == 1
        # The confirmation bounced (a made-up address): that pending sign-up is suppressed,
        # matched by the notice's own bounce address.
        dsn = fill("postfix_hard_5.1.1.eml", smtp_sink, "newcomer@example.net",
                   bounce=confirm.sender)
        result = inbound(env, tmp_path, dsn)
        assert result.stdout.startswith("bounce:"), result
        with rt.engine.connect() as conn:
            assert conn.execute(select(subscribers.c.status).where(
                subscribers.c.id == row.id)).scalar() == "bounced"

        result = inbound(env, tmp_path, (FIXTURES / "returns" / "help.eml").read_bytes())
        assert result.returncode == 0 and result.stdout.startswith("help:"), result
        [answer] = smtp_sink.handler.to("curious@example.net")
        assert answer.sender == "<>"  # MAIL FROM:<>, the null sender: nothing answers it
        assert answer.message["Auto-Submitted"] == "auto-replied"
        assert answer.message["In-Reply-To"] == "<help.1@mail.example.net>"
        assert "subscribe" in answer.message.get_body().get_content()  # type: ignore[union-attr]

        # Requests from machines are never answered nor acted on.
        mailed = len(smtp_sink.handler.received)
        for name in ("vacation_precedence.eml", "challenge_response.eml"):
            assert inbound(env, tmp_path, (FIXTURES / "returns" / name).read_bytes(),
                           ).returncode == 0
        null = (FIXTURES / "returns" / "help.eml").read_bytes().replace(
            b"Return-Path: <curious@example.net>", b"Return-Path: <>").replace(
            b"curious@", b"other@")
        assert inbound(env, tmp_path, null).stderr.startswith("ignored:")
        assert len(smtp_sink.handler.received) == mailed
        assert "reader@example.net" not in str(all_events(rt.engine))

        # Field case 08: the token only in an HTML body. Its own token was signed with a
        # key we do not have: the reader's real token takes its place, nothing else changes.
        [digest] = smtp_sink.handler.to("calm@example.net")
        mailto = str(digest.message["List-Unsubscribe"])
        token = mailto.split("unsubscribe%20", 1)[1].split(">", 1)[0]
        case = (FIXTURES / "field_cases" / "08_inbound_v4_html_only_body.eml").read_bytes()
        old = b"eyJzIjo0LCJwIjoidW5zdWJzY3JpYmUifQ.aw2jug.AcvkOLfjeMObYFDMVQsoVOMzPEQ"
        assert old in case
        result = inbound(env, tmp_path, case.replace(old, token.encode()))
        assert result.returncode == 0 and result.stdout.startswith("unsubscribe:"), result
        assert seen(rt.engine, "calm@example.net").status == "unsubscribed"
        # As for the mailto's own request: one goodbye, as the web page's unsubscribe sends.
        assert len(smtp_sink.handler.to("calm@example.net")) == 2
    finally:
        rt.close()

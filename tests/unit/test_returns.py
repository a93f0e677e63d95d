"""Reading what comes back, message by message: real-shaped DSNs judged with the same table
as a refusal during the SMTP session (RFC 3463 classes), ARF complaints, auto-replies and
people's requests. Expected verdicts were written from the RFCs before running the code."""

from __future__ import annotations

from pathlib import Path

import pytest

from digest.send.requests import Request, read_request, unsubscribe_token
from digest.send.returns import classify, feedback_type, parse_mail, read_dsn

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
BOUNCE = "bounces+d7-aaaaaaaaaaaaaaaa@bounce.example.org"
RCPT = "reader@example.net"


def load(name: str, **fill: str) -> bytes:
    text = (FIXTURES / "returns" / name).read_text()
    text = text.replace("@@BOUNCE@@", BOUNCE).replace("@@RCPT@@", RCPT)
    text = text.replace("@@LISTUNSUB@@", fill.get("listunsub", "<https://x.example/u>"))
    return text.encode()


# (file, action, status, fault): RFC 3463 §3.2 X.1.1 bad mailbox -> recipient; X.1.10
# (RFC 7505 context, Microsoft "recipient not found") -> recipient; X.2.2 mailbox full ->
# transient (the reader may make room); X.4.1 no answer from host, delayed -> transient;
# X.7.26 authentication failed (RFC 7372) -> sender, never the reader.
DSNS = [
    ("postfix_hard_5.1.1.eml", "failed", "5.1.1", "recipient", True),
    ("ses_hard_5.1.1.eml", "failed", "5.1.1", "recipient", True),
    ("exchange_5.1.10_not_found.eml", "failed", "5.1.10", "recipient", True),
    ("qmail_failure_notice.eml", "failed", "5.1.1", "recipient", True),
    ("exim_text_only.eml", "failed", "5.1.1", "recipient", True),
    ("gmail_soft_5.2.2_over_quota.eml", "failed", "5.2.2", "transient", True),
    ("gmail_dmarc_5.7.26.eml", "failed", "5.7.26", "sender", True),
    ("postfix_delayed_4.4.1.eml", "delayed", "4.4.1", "transient", False),
]


@pytest.mark.parametrize(("name", "action", "status", "fault", "permanent"), DSNS)
def test_bounces_are_recognised_and_judged_by_the_reply_table(
        name: str, action: str, status: str, fault: str, permanent: bool) -> None:
    message = parse_mail(load(name))
    assert classify(message) == "dsn"
    bounce = read_dsn(message)
    assert bounce is not None
    assert (bounce.action, bounce.status, bounce.verdict.fault) == (action, status, fault)
    assert bounce.permanent is permanent
    assert status in bounce.line()


def test_an_arf_report_is_a_complaint() -> None:
    message = parse_mail(load("arf_abuse.eml"))
    assert classify(message) == "complaint"
    assert feedback_type(message) == "abuse"


@pytest.mark.parametrize("name", ["out_of_office.eml", "vacation_precedence.eml",
                                  "challenge_response.eml"])
def test_automatic_replies_are_recognised_even_when_they_look_like_requests(name: str) -> None:
    assert classify(parse_mail(load(name))) == "auto-reply"


def test_a_subscribe_mail_carries_its_interests_without_the_signature() -> None:
    message = parse_mail(load("subscribe.eml"))
    assert classify(message) == "other"
    assert read_request(message) == Request(
        "subscribe", interests="state space models for long sequences, protein structure "
                               "prediction")


def test_help_and_subscribe_in_the_first_body_line() -> None:
    assert read_request(parse_mail(load("help.eml"))) == Request("help")
    raw = b"From: a@example.net\r\nSubject: hello\r\n\r\n\r\nSubscribe: graph neural nets\r\n"
    assert read_request(parse_mail(raw)) == Request("subscribe",
                                                    interests="graph neural nets")
    # "unsubscribe" without a token proves nothing; chatter is no request.
    assert read_request(parse_mail(b"Subject: unsubscribe\r\n\r\nplease\r\n")) is None
    assert read_request(parse_mail(b"Subject: hi\r\n\r\nthanks for the digest\r\n")) is None


TOKEN = "eyJzIjo0LCJwIjoidW5zdWJzY3JpYmUifQ.aw2jug.AcvkOLfjeMObYFDMVQsoVOMzPEQ"


@pytest.mark.parametrize("subject", [f"unsubscribe {TOKEN}", f"unsubscribe%20{TOKEN}",
                                     f"unsubscribe+{TOKEN}", f"Re: unsubscribe {TOKEN}"])
def test_the_unsubscribe_token_survives_undecoded_mailto_subjects(subject: str) -> None:
    raw = f"From: a@example.net\r\nSubject: {subject}\r\n\r\n\r\n".encode()
    assert unsubscribe_token(parse_mail(raw)) == TOKEN


def test_field_case_08_the_token_only_in_an_html_body() -> None:
    raw = (FIXTURES / "field_cases" / "08_inbound_v4_html_only_body.eml").read_bytes()
    message = parse_mail(raw)
    assert classify(message) == "other"
    assert read_request(message) == Request("unsubscribe", TOKEN)

"""Who is at fault for a rejection, row by row of the table in digest/send/replies.py, each
with a reply as a large provider sends it, over a real connection (multi-line and all).

The replies are written from the providers' public documentation of their SMTP errors:
Gmail: https://support.google.com/a/answer/3726730 ("Gmail SMTP errors and codes"; wrapped
into continuation lines the way Gmail's servers send them, "- gsmtp" last); Microsoft:
the Exchange Online / Outlook.com NDR articles (learn.microsoft.com, "Fix NDR error 550
5.7.515", "550 5.1.10", "5.7.509", "5.7.606"); Yahoo: https://senders.yahooinc.com/smtp-error-codes
and help.yahoo.com SLN3444; Exim's multi-line banner and relay refusal as field case 05 and
public logs show them. The expected party was decided from RFC 3463 (enhanced codes), RFC
5321 §4.2 (basic codes), RFC 4954 (AUTH) and the issue's table, before running anything.
"""

from __future__ import annotations

import asyncio

import pytest

from digest.config import SmtpSettings
from digest.errors import DeliveryError
from digest.send.smtp import SmtpTransport
from tests.raw_smtp import RawMta


def _wrap(code: int, status: str, words: str, width: int = 72) -> bytes:
    """A reply the way Gmail writes it: every line ``code-status text``, the last with a
    space after the code."""
    lines: list[str] = []
    line = ""
    for word in words.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    out = [f"{code}-{status} {text}" for text in lines[:-1]] + [f"{code} {status} {lines[-1]}"]
    return ("\r\n".join(out) + "\r\n").encode()


GMAIL_DMARC = (b"550-5.7.26 This mail is unauthenticated, which poses a security risk to the\r\n"
               b"550-5.7.26 sender and Gmail users, and has been blocked. The sender must\r\n"
               b"550-5.7.26 authenticate with at least one of SPF or DKIM. For this message,\r\n"
               b"550 5.7.26 DKIM checks did not pass and SPF check for [example.org] did not "
               b"pass - gsmtp\r\n")
EXIM_RELAY = (b"550-Please turn on SMTP Authentication in your mail client, or login to the\r\n"
              b"550-IMAP/POP3 server before sending your message. (client.example)\r\n"
              b"550-[203.0.113.5]:42630 is not permitted to relay through this server without\r\n"
              b"550 authentication.\r\n")

# (id, stage, reply, expected party, expected enhanced status or "")
ROWS = [
    # -- recipient: X.1.x bad address, X.2.1 disabled (RFC 3463 §3.2, §3.3): a hard bounce
    ("gmail-5.1.1-no-such-account", "rcpt", _wrap(550, "5.1.1",
     "The email account that you tried to reach does not exist. Please try double-checking "
     "the recipient's email address for typos or unnecessary spaces. For more information, "
     "go to https://support.google.com/mail/?p=NoSuchUser x1-20020a05 - gsmtp"),
     "recipient", "5.1.1"),
    ("gmail-5.1.2-no-such-domain", "rcpt", _wrap(553, "5.1.2",
     "We weren't able to find the recipient domain. Please check for any spelling errors and "
     "make sure you didn't enter any spaces, periods, or other punctuation after the "
     "recipient's email address. x1-20020a05 - gsmtp"), "recipient", "5.1.2"),
    ("gmail-5.2.1-inactive", "rcpt", _wrap(550, "5.2.1",
     "The email account that you tried to reach is inactive. For more information, go to "
     "https://support.google.com/mail/?p=DisabledUser x1-20020a05 - gsmtp"),
     "recipient", "5.2.1"),
    ("microsoft-5.1.10-not-found", "rcpt",
     b"550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup\r\n",
     "recipient", "5.1.10"),
    ("hotmail-code-only-550", "rcpt",
     b"550 Requested action not taken: mailbox unavailable\r\n", "recipient", ""),
    ("exim-code-only-relay-refusal", "rcpt", EXIM_RELAY, "recipient", ""),  # see the guard test
    ("rfc7504-556-null-mx", "rcpt",
     b"556 5.1.10 Recipient address has null MX\r\n", "recipient", "5.1.10"),
    # -- message: X.3.4 too big, X.6.x content, X.2.3 too long for the mailbox
    ("gmail-5.3.4-too-big", "data", _wrap(552, "5.3.4",
     "Your message exceeded Google's message size limits. To view our message size "
     "guidelines, go to https://support.google.com/mail/?p=MaxSizeError x1-20020a05 - gsmtp"),
     "message", "5.3.4"),
    ("gmail-5.6.0-malformed", "data",
     b"554 5.6.0 Email message is malformed. Not accepted. x1-20020a05 - gsmtp\r\n",
     "message", "5.6.0"),
    ("microsoft-5.3.4-too-big", "data",
     b"552 5.3.4 Message size exceeds fixed maximum message size\r\n", "message", "5.3.4"),
    ("postfix-5.2.3-too-long", "data",
     b"552 5.2.3 Message length exceeds administrative limit\r\n", "message", "5.2.3"),
    ("rfc6531-5.6.7-non-ascii", "rcpt",
     b"553 5.6.7 Non-ASCII addresses not permitted for that recipient\r\n", "message", "5.6.7"),
    # -- sender: X.7.x security or policy, X.1.7/X.1.8 our own address, anything at MAIL
    ("gmail-5.7.26-dmarc-4-lines", "data", GMAIL_DMARC, "sender", "5.7.26"),
    ("gmail-5.7.1-unsolicited", "data", _wrap(550, "5.7.1",
     "This message is likely unsolicited email. To reduce the amount of spam sent to Gmail, "
     "this message has been blocked. For more information, go to "
     "https://support.google.com/mail/?p=UnsolicitedMessageError x1-20020a05 - gsmtp"),
     "sender", "5.7.1"),
    ("gmail-5.7.25-ptr", "data", _wrap(550, "5.7.25",
     "The IP address sending this message does not have a PTR record setup, or the "
     "corresponding forward DNS entry does not point to the sending IP. As a policy, Gmail "
     "does not accept messages from IPs with missing PTR records. x1-20020a05 - gsmtp"),
     "sender", "5.7.25"),
    ("gmail-5.1.7-bad-sender", "mail", _wrap(553, "5.1.7",
     "The sender address <digest@example.org> is not a valid RFC 5321 address. "
     "x1-20020a05 - gsmtp"), "sender", "5.1.7"),
    ("gmail-5.7.0-auth-required", "mail", _wrap(530, "5.7.0",
     "Authentication Required. For more information, go to "
     "https://support.google.com/mail/?p=WantAuthError x1-20020a05 - gsmtp"), "sender", "5.7.0"),
    ("microsoft-5.7.515-auth-level", "data",
     b"550 5.7.515 Access denied, sending domain [example.org] does not meet the required "
     b"authentication level.\r\n", "sender", "5.7.515"),
    ("microsoft-5.7.509-dmarc-reject", "data",
     b"550 5.7.509 Access denied, sending domain example.org does not pass DMARC verification "
     b"and has a DMARC policy of reject.\r\n", "sender", "5.7.509"),
    ("microsoft-5.7.606-banned-ip", "rcpt",
     b"550 5.7.606 Access denied, banned sending IP [203.0.113.5]. To request removal from this "
     b"list please visit https://sender.office.com/ and follow the directions.\r\n",
     "sender", "5.7.606"),
    ("yahoo-5.7.9-unauthenticated", "data",
     b"550 5.7.9 This mail has been blocked because the sender is unauthenticated. Yahoo "
     b"requires all senders to authenticate with either SPF or DKIM.\r\n", "sender", "5.7.9"),
    ("yahoo-5.7.9-policy", "data",
     b"554 5.7.9 Message not accepted for policy reasons.  See "
     b"https://postmaster.yahooinc.com/error-codes\r\n", "sender", "5.7.9"),
    ("yahoo-5.7.1-spamhaus", "mail",
     b"553 5.7.1 [BL21] Connections will not be accepted from 203.0.113.5, because the ip is "
     b"in Spamhaus's list; see https://postmaster.yahooinc.com/error-codes\r\n",
     "sender", "5.7.1"),
    ("code-only-550-at-mail", "mail", b"550 Sender rejected\r\n", "sender", ""),
    # -- transient: any 4xx, X.2.2 mailbox full (RFC 3463 §3.3), 552 to RCPT (RFC 5321 §4.5.3.1.10)
    ("gmail-4.2.2-out-of-storage", "rcpt", _wrap(452, "4.2.2",
     "The recipient's inbox is out of storage space. Please direct the recipient to "
     "https://support.google.com/mail/?p=OverQuotaTemp x1-20020a05 - gsmtp"),
     "transient", "4.2.2"),
    ("gmail-5.2.2-full-and-inactive", "rcpt", _wrap(552, "5.2.2",
     "The recipient's inbox is out of storage space and inactive. Please direct the "
     "recipient to https://support.google.com/mail/?p=OverQuotaPerm x1-20020a05 - gsmtp"),
     "transient", "5.2.2"),
    ("gmail-4.2.1-too-fast", "rcpt", _wrap(450, "4.2.1",
     "The user you are trying to contact is receiving mail too quickly. Please resend your "
     "message at a later time. x1-20020a05 - gsmtp"), "transient", "4.2.1"),
    ("gmail-4.7.28-rate-limited", "data", _wrap(421, "4.7.28",
     "Gmail has detected an unusual rate of unsolicited mail originating from your IP "
     "address. To protect our users from spam, mail sent from your IP address has been "
     "temporarily rate limited. x1-20020a05 - gsmtp"), "transient", "4.7.28"),
    ("gmail-421-with-5.7.32-class-mismatch", "data", _wrap(421, "5.7.32",
     "Your email was blocked because the From: header (RFC5322) in this message isn't "
     "aligned with either the authenticated SPF or DKIM organizational domain. - gsmtp"),
     "transient", "5.7.32"),
    ("yahoo-4.7.0-tss04", "mail",
     b"421 4.7.0 [TSS04] Messages from 203.0.113.5 temporarily deferred due to unexpected "
     b"volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes\r\n",
     "transient", "4.7.0"),
    ("greylisting-4.7.1", "rcpt",
     b"450 4.7.1 <lea@example.net>: Recipient address rejected: Greylisted for 300 seconds\r\n",
     "transient", "4.7.1"),
    ("code-only-552-at-rcpt", "rcpt", b"552 Too many recipients\r\n", "transient", ""),
    # -- other: a permanent refusal that names no party: fail this delivery, blame nobody
    ("yahoo-code-only-554-dd", "rcpt",
     b"554 delivery error: dd This user doesn't have a yahoo.com account (lea@yahoo.example) "
     b"[0] - mta1234.mail.bf1.yahoo.com\r\n", "other", ""),
    ("gmail-5.4.6-loop", "data",
     b"554 5.4.6 Message exceeded 50 hops, this may indicate an email loop. - gsmtp\r\n",
     "other", "5.4.6"),
    ("gmail-5.5.2-syntax", "rcpt", b"555 5.5.2 Syntax error. x1-20020a05 - gsmtp\r\n",
     "other", "5.5.2"),
    ("postfix-5.0.0-falls-back-to-550-rcpt", "rcpt",
     b"550 5.0.0 <lea@example.net>: Recipient address rejected: unknown user\r\n",
     "recipient", "5.0.0"),
]


async def _send_one(port: int) -> None:
    transport = SmtpTransport(SmtpSettings(host="127.0.0.1", port=port, timeout=5))
    data = b"From: digest@example.org\r\nTo: lea@example.net\r\nSubject: hi\r\n\r\nhello\r\n"
    try:
        await transport.send(data, sender="digest@example.org", recipient="lea@example.net",
                             message_id="<1@example.org>")
    finally:
        await transport.close()


@pytest.mark.parametrize(("stage", "reply", "party", "status"),
                         [row[1:] for row in ROWS], ids=[row[0] for row in ROWS])
def test_each_rejection_blames_the_right_party(stage: str, reply: bytes, party: str,
                                               status: str) -> None:
    with RawMta(replies={stage: reply}) as mta, pytest.raises(DeliveryError) as caught:
        asyncio.run(_send_one(mta.port))
    error = caught.value
    assert error.fault == party
    assert error.reply is not None and error.reply.status == status
    assert error.reply.code == int(reply[:3])
    # One line with the server's own words, continuation prefixes gone.
    text = str(error)
    assert "\n" not in text and "\r" not in text
    last_words = reply.decode().strip().splitlines()[-1].split()[-1]
    assert last_words in text
    assert "550-" not in text and "452-" not in text


def test_a_code_only_reply_keeps_its_words() -> None:
    with RawMta(replies={"rcpt": EXIM_RELAY}) as mta, pytest.raises(DeliveryError) as caught:
        asyncio.run(_send_one(mta.port))
    assert str(caught.value).startswith("RCPT 550 Please turn on SMTP Authentication")
    assert "is not permitted to relay through this server without authentication." in str(
        caught.value)

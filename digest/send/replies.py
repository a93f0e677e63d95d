"""Who is at fault when a server refuses a message: the one table digest judges SMTP replies by.

A reply is judged by its enhanced status code (RFC 3463, carried at the start of the reply
text per RFC 2034), or by its basic code (RFC 5321 §4.2) when it has none, and by the step
that drew it (MAIL FROM, RCPT TO or the end of DATA). The verdict names a party:

- ``recipient``: the mailbox is bad or gone: a hard bounce, counted towards suppression;
- ``message``: this message cannot pass (too big, content): the delivery fails, nobody is
  suppressed;
- ``sender``: we are refused (authentication: SPF/DKIM/DMARC, reputation, blocked IP, relay
  policy): never the reader's fault; the delivery stays retryable and a run of these stops
  the send;
- ``transient``: try again later (any 4xx; a full mailbox);
- ``other``: a permanent refusal that names no party we can blame: the delivery fails,
  nobody is suppressed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from digest.errors import DeliveryError

Fault = Literal["recipient", "message", "sender", "transient", "other"]
Stage = Literal["mail", "rcpt", "data"]

STAGE_NAMES: dict[Stage, str] = {"mail": "MAIL FROM", "rcpt": "RCPT", "data": "DATA"}

# RFC 3463 §2: class "." subject "." detail, subject and detail 1-3 digits.
_ENHANCED = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})(?=\s|$)")


@dataclass(frozen=True, slots=True)
class Reply:
    """A server's reply: the basic code, the enhanced status code if it gave one, and its
    text as one line (continuation lines joined, their repeated status codes removed)."""

    code: int
    enhanced: tuple[int, int, int] | None
    text: str

    @property
    def status(self) -> str:
        """The enhanced status code as written (``5.7.26``), or ``""``."""
        return ".".join(map(str, self.enhanced)) if self.enhanced else ""

    def __str__(self) -> str:
        return " ".join(part for part in (str(self.code), self.status, self.text) if part)


def parse_reply(code: int, message: str) -> Reply:
    """The reply as aiosmtplib hands it over (``message``: the lines after the code,
    joined by newlines) turned into a ``Reply``. Control characters in the text become
    spaces: the text is shown to people and stored, never interpreted."""
    enhanced: tuple[int, int, int] | None = None
    words: list[str] = []
    for raw in message.splitlines():
        line = raw.strip()
        found = _ENHANCED.match(line)
        if found:
            if enhanced is None:
                enhanced = (int(found[1]), int(found[2]), int(found[3]))
            line = line[found.end():].strip()
        if line:
            words.append(line)
    text = " ".join(" ".join(words).split())
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return Reply(code, enhanced, text)


@dataclass(frozen=True, slots=True)
class Verdict:
    """Who is at fault, and the table row (with its standard) that said so."""

    fault: Fault
    rule: str


# Enhanced codes, most specific first: (subject, detail or None for any) -> verdict.
# RFC 3463 §3.2-3.8 define the subjects; RFC 7372 adds the X.7.20-X.7.29 authentication
# details (5.7.26: multiple authentication checks failed), RFC 7505 X.1.10 (null MX).
ENHANCED_TABLE: tuple[tuple[int, int | None, Verdict], ...] = (
    (1, 7, Verdict("sender", "X.1.7 bad sender's mailbox address syntax (RFC 3463 §3.2)")),
    (1, 8, Verdict("sender", "X.1.8 bad sender's system address (RFC 3463 §3.2)")),
    (1, None, Verdict("recipient", "X.1.x bad destination mailbox, system or address "
                                   "(RFC 3463 §3.2; X.1.10 null MX, RFC 7505)")),
    (2, 1, Verdict("recipient", "X.2.1 mailbox disabled, not accepting messages "
                                "(RFC 3463 §3.3)")),
    (2, 2, Verdict("transient", "X.2.2 mailbox full: the reader may make room "
                                "(RFC 3463 §3.3)")),
    (2, 3, Verdict("message", "X.2.3 message length exceeds administrative limit "
                              "(RFC 3463 §3.3)")),
    (3, 1, Verdict("transient", "X.3.1 mail system full (RFC 3463 §3.4)")),
    (3, 2, Verdict("transient", "X.3.2 system not accepting network messages "
                                "(RFC 3463 §3.4)")),
    (3, 3, Verdict("message", "X.3.3 system not capable of selected features "
                              "(RFC 3463 §3.4)")),
    (3, 4, Verdict("message", "X.3.4 message too big for system (RFC 3463 §3.4)")),
    (6, None, Verdict("message", "X.6.x message content or media (RFC 3463 §3.7; "
                                 "5.6.7 non-ASCII address, RFC 6531)")),
    (7, None, Verdict("sender", "X.7.x security or policy: authentication (SPF, DKIM, "
                                "DMARC; RFC 7372), reputation, blocked IP (RFC 3463 §3.8)")),
)
OTHER_ENHANCED = Verdict("other", "a permanent status that names no party (RFC 3463 "
                                  "X.2.0, X.2.4, X.3.x, X.4.x network or routing, "
                                  "X.5.x protocol)")

TRANSIENT = Verdict("transient", "4yz transient negative completion: try again later "
                                 "(RFC 5321 §4.2.1)")
AT_MAIL = Verdict("sender", "refused at MAIL FROM: our envelope sender, not the reader "
                            "(RFC 5321 §4.1.1.2)")
AUTH = Verdict("sender", "530/534/535/538 authentication required or refused (RFC 4954 §6)")
# Basic codes, when there is no enhanced code: (stage or None for any, code) -> verdict.
BASIC_TABLE: tuple[tuple[Stage | None, int, Verdict], ...] = (
    ("rcpt", 550, Verdict("recipient", "550 to RCPT: mailbox unavailable (RFC 5321 §4.2.3)")),
    ("rcpt", 551, Verdict("recipient", "551 to RCPT: user not local (RFC 5321 §4.2.3)")),
    ("rcpt", 553, Verdict("recipient", "553 to RCPT: mailbox name not allowed "
                                       "(RFC 5321 §4.2.3)")),
    ("rcpt", 556, Verdict("recipient", "556: domain does not accept mail (RFC 7504)")),
    ("rcpt", 552, Verdict("transient", "552 to RCPT is treated as 452 (RFC 5321 §4.5.3.1.10)")),
    ("data", 552, Verdict("message", "552 to DATA: exceeded storage allocation "
                                     "(RFC 5321 §4.2.3)")),
)
OTHER_BASIC = Verdict("other", "a permanent reply whose basic code names no party "
                               "(RFC 5321 §4.2.3: 554 transaction failed, 5.5.x syntax)")


def judge(stage: Stage, reply: Reply) -> Verdict:
    """Who is at fault for ``reply`` to the ``stage`` step.

    An enhanced code whose class contradicts the basic code (Gmail documents ``421 5.7.32``)
    is not trusted: the basic code decides whether to retry (RFC 5321 §4.2.1). X.0.0 says
    nothing beyond its class, so the basic code decides then too.
    """
    if 400 <= reply.code < 500:
        return TRANSIENT
    if stage == "mail":
        return AT_MAIL
    if reply.code in (530, 534, 535, 538):
        return AUTH
    enhanced = reply.enhanced
    if enhanced and enhanced[0] == reply.code // 100 and enhanced[1:] != (0, 0):
        _, subject, detail = enhanced
        for want_subject, want_detail, verdict in ENHANCED_TABLE:
            if subject == want_subject and want_detail in (None, detail):
                return verdict
        return OTHER_ENHANCED
    for want_stage, code, verdict in BASIC_TABLE:
        if code == reply.code and want_stage in (None, stage):
            return verdict
    return OTHER_BASIC


class SmtpRefusal(DeliveryError):
    """A server refused the message at ``stage`` with ``reply``; ``fault`` is the verdict's
    party. The message is one line: the step, the code, the status and the server's words."""

    def __init__(self, stage: Stage, reply: Reply) -> None:
        self.stage, self.reply = stage, reply
        self.verdict = judge(stage, reply)
        super().__init__(f"{STAGE_NAMES[stage]} {reply}", fault=self.verdict.fault,
                         code=reply.code)

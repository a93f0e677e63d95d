"""What each failed attempt means for its delivery row and for the run: the send policy.

- the reader's mailbox is bad (``recipient``): the row fails and counts a hard bounce;
- the message (``message``) or nobody we can name (``other``): the row fails, no bounce;
- we are refused as a sender (``sender``: SPF/DKIM/DMARC, reputation): the row waits for a
  retry without spending an attempt; a few in a row stop the run as a setup problem;
- no session at all (``connection``): the same, and two alike before any session worked stop
  the run, naming the setting;
- a hiccup (``transient``): retry with backoff, until ``max_attempts``;
- no reply to the end of DATA (``unknown``): the message may have arrived, so it is sent at
  most once more, after ``unknown_retry_seconds``, and never again after that.

Until a server has accepted one message in the run, refusals that would fail a row are held
back: a relay that refuses every recipient alike (code-only "550 relay not permitted")
must not look like a list of bad mailboxes.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from digest.config import SmtpSettings
from digest.errors import DeliveryError
from digest.models import Claim, Outcome
from digest.send.outcome import SendReport
from digest.send.replies import SmtpRefusal

Clock = Callable[[], datetime]
LOGIN_CODES = (530, 534, 535, 538)


def backoff(attempts: int, *, base: float = 60.0, cap: float = 6 * 3600.0) -> timedelta:
    """Exponential backoff with jitter: base·2^(n-1), jittered down by up to half, so
    retries from many recipients spread out and a throttling server can recover."""
    ceiling = min(cap, base * 2 ** max(0, attempts - 1))
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))


def sender_abort_line(exc: DeliveryError, count: int) -> str:
    """The one line a run stops with when the server refuses us as a sender."""
    words = str(exc)
    if isinstance(exc, SmtpRefusal) and exc.reply.code in LOGIN_CODES:
        hint = ("the relay wants a login: set DIGEST_SMTP__USERNAME and DIGEST_SMTP__PASSWORD "
                "(and DIGEST_SMTP__SECURITY=starttls or tls)")
    else:
        hint = ("check SPF, DKIM and DMARC for the domain of DIGEST_FROM_ADDRESS (sign with "
                "DIGEST_SMTP__DKIM_KEY_PATH and DIGEST_SMTP__DKIM_SELECTOR) and the sending "
                "IP's reputation")
    return (f"the mail server refused {count} messages in a row as the sender's problem, "
            f"not the readers': {words} — {hint}; nobody was suppressed, and those "
            "deliveries wait for a retry")


@dataclass
class Fates:
    """Decides outcomes for one run and says when the run must stop (``stop``)."""

    smtp: SmtpSettings
    report: SendReport
    clock: Clock
    stop: str | None = None
    stop_is_setup: bool = False
    accepted: int = 0  # messages a server accepted in this run
    held: list[tuple[Claim, DeliveryError]] = field(default_factory=list)
    _consecutive: int = 0
    _sender_streak: int = 0
    _session_seen: bool = False
    _connection_kinds: list[str] = field(default_factory=list)

    def halt(self, reason: str, *, setup: bool) -> None:
        if self.stop is None:
            self.stop, self.stop_is_setup = reason, setup

    def delivered(self) -> None:
        """A server accepted a message."""
        self.accepted += 1
        self._consecutive = self._sender_streak = 0
        self._session_seen = True
        self._connection_kinds.clear()

    def failed(self, claim: Claim, exc: DeliveryError) -> Outcome | None:
        """The outcome of a failed attempt, or None when it is held back (see ``settle_held``)."""
        text = str(exc)
        self.report.errors.append(text)
        fault = exc.fault
        if fault != "connection":
            self._session_seen = True
            self._connection_kinds.clear()
        if fault != "sender":
            self._sender_streak = 0
        self._consecutive += 1
        outcome = self._decide(claim, exc, text)
        # After the policy's own verdict, so a setup diagnosis names the setting first.
        if self._consecutive >= self.smtp.abort_after_consecutive_failures:
            self.halt(f"{self._consecutive} consecutive delivery failures, last: {text}; "
                      "check the SMTP settings", setup=False)
        return outcome

    def _decide(self, claim: Claim, exc: DeliveryError, text: str) -> Outcome | None:
        fault = exc.fault
        if claim.unknown and fault not in ("connection", "sender"):
            # Its one more attempt did not get a 250 either: never again.
            return self._unknown_final(claim, f"an earlier attempt's outcome is unknown; the "
                                              f"last attempt got: {text}", fault)
        if fault in ("recipient", "message", "other"):
            if self.accepted == 0:
                self.held.append((claim, exc))
                return None
            return self.final(claim, exc)
        if fault == "local":
            return self.final(claim, exc)
        if fault == "sender":
            self._sender_streak += 1
            if self._sender_streak >= self.smtp.abort_after_sender_rejections:
                self.halt(sender_abort_line(exc, self._sender_streak), setup=True)
            return self._retry(claim, text, refund=True)
        if fault == "connection":
            kinds = self._connection_kinds
            if not self._session_seen:
                kinds.append(exc.kind or "other")
                if len(kinds) >= 2 and kinds[-1] == kinds[-2]:
                    self.halt(f"every connection fails the same way: {text}", setup=True)
            return self._retry(claim, text, refund=True)
        if fault == "unknown":
            return self._unknown(claim, text)
        if claim.attempts >= self.smtp.max_attempts:
            self.report.failed += 1
            return Outcome(claim.id, "failed",
                           error=f"gave up after {claim.attempts} attempts: {text}")
        return self._retry(claim, text, refund=False)

    def final(self, claim: Claim, exc: DeliveryError) -> Outcome:
        """The row fails for good; a refusal that blames the mailbox counts a hard bounce."""
        bounce = exc.fault == "recipient"
        self.report.failed += 1
        self.report.bounced += bounce
        return Outcome(claim.id, "failed", error=str(exc),
                       bounce_subscriber_id=claim.subscriber_id if bounce else None)

    def settle_held(self) -> list[Outcome]:
        """Outcomes for the held refusals: final once any message was accepted in this run
        (the server takes our mail: those refusals were about them), or when there is only
        one; otherwise retries that blame nobody."""
        held, self.held = self.held, []
        if self.accepted or len(held) == 1:
            return [self.final(claim, exc) for claim, exc in held]
        note = (" (not held against the reader: the server accepted no message in this "
                "run, so it may be refusing us rather than these addresses)")
        return [self._retry(claim, f"{exc}{note}", refund=False) for claim, exc in held]

    def _retry(self, claim: Claim, text: str, *, refund: bool) -> Outcome:
        self.report.retried += 1
        attempts = max(1, claim.attempts - 1) if refund else claim.attempts
        wait = backoff(attempts, base=self.smtp.retry_base_seconds,
                       cap=self.smtp.retry_max_seconds)
        # A row whose outcome is already unknown keeps saying so while it waits.
        return Outcome(claim.id, "unknown" if claim.unknown else "retry", error=text,
                       next_attempt_at=self.clock() + wait, refund=refund)

    def _unknown(self, claim: Claim, text: str) -> Outcome:
        wait = self.smtp.unknown_retry_seconds
        if wait <= 0:
            return self._unknown_final(claim, text, "unknown")
        return Outcome(claim.id, "unknown", error=f"{text}; sending it once more after "
                                                  f"{wait:g} s (DIGEST_SMTP__UNKNOWN_RETRY_SECONDS)",
                       next_attempt_at=self.clock() + timedelta(seconds=wait), unknown=True)

    def _unknown_final(self, claim: Claim, text: str, fault: str) -> Outcome:
        bounce = fault == "recipient"
        self.report.bounced += bounce
        return Outcome(claim.id, "unknown", error=f"{text}; not sent again",
                       unknown=fault == "unknown",
                       bounce_subscriber_id=claim.subscriber_id if bounce else None)

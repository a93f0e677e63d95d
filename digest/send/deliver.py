"""The delivery loop: claim due ledger rows, build each message, send it, record the outcome.

Per-message failures are data (retry with backoff, or fail and suppress on a 5xx); only a
run of consecutive failures of every kind aborts, because that means broken configuration.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import Engine

from digest.config import SmtpSettings
from digest.errors import DeliveryError, SendAborted
from digest.send.transport import Transport
from digest.store import ledger
from digest.store.ledger import Claim


@dataclass(frozen=True, slots=True)
class Outgoing:
    """What the builder hands back for a claim: the message, or why there is none."""

    message: EmailMessage | None
    sender: str = ""
    recipient: str = ""
    skip_state: str | None = None  # suppressed or skipped, when message is None
    skip_reason: str | None = None


Builder = Callable[[Claim], Outgoing]
Clock = Callable[[], datetime]


@dataclass(slots=True)
class SendReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    suppressed: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)
    aborted: str | None = None
    recipients: list[str] = field(default_factory=list)


def backoff(attempts: int, *, base: float = 60.0, cap: float = 6 * 3600.0) -> timedelta:
    """Exponential backoff with full jitter: spreads retries so a throttling server recovers."""
    return timedelta(seconds=random.uniform(base / 2, min(cap, base * 2 ** max(0, attempts - 1))))


def _utcnow() -> datetime:
    return datetime.now(UTC)


async def deliver_due(engine: Engine, transport: Transport, build: Builder, *, owner: str,
                      smtp: SmtpSettings, on_permanent: Callable[[Claim, str], None],
                      clock: Clock = _utcnow, limit: int | None = None, batch_size: int = 50,
                      on_progress: Callable[[int], None] | None = None) -> SendReport:
    report = SendReport()
    consecutive = 0
    handled = 0
    while limit is None or handled < limit:
        size = batch_size if limit is None else min(batch_size, limit - handled)
        claims = ledger.claim_batch(engine, owner=owner, now=clock(), limit=size)
        if not claims:
            break
        for index, claim in enumerate(claims):
            outgoing = build(claim)
            now = clock()
            if outgoing.message is None:
                state = outgoing.skip_state or "skipped"
                ledger.mark_final(engine, claim.id, owner=owner, now=now, state=state,
                                  error=outgoing.skip_reason)
                report.suppressed += state == "suppressed"
                report.skipped += state == "skipped"
            else:
                try:
                    receipt = await transport.send(outgoing.message, sender=outgoing.sender,
                                                   recipient=outgoing.recipient)
                except DeliveryError as exc:
                    consecutive += 1
                    _record_failure(engine, claim, exc, owner=owner, now=clock(), smtp=smtp,
                                    report=report, on_permanent=on_permanent)
                    if consecutive >= smtp.abort_after_consecutive_failures:
                        rest = [c.id for c in claims[index + 1 :]]
                        ledger.release(engine, rest, owner=owner, now=clock())
                        report.aborted = (f"{consecutive} consecutive delivery failures, last: "
                                          f"{exc}; check the SMTP settings")
                        raise SendAborted(report.aborted) from exc
                else:
                    consecutive = 0
                    ledger.mark_sent(engine, claim.id, owner=owner, now=clock(),
                                     message_id=str(outgoing.message["Message-ID"]),
                                     reply=receipt.reply, transport=receipt.transport)
                    report.sent += 1
                    report.recipients.append(outgoing.recipient)
            handled += 1
            if on_progress:
                on_progress(handled)
            await asyncio.sleep(0)
    return report


def _record_failure(engine: Engine, claim: Claim, exc: DeliveryError, *, owner: str,
                    now: datetime, smtp: SmtpSettings, report: SendReport,
                    on_permanent: Callable[[Claim, str], None]) -> None:
    message = str(exc)
    report.errors.append(message)
    if exc.permanent:
        ledger.mark_final(engine, claim.id, owner=owner, now=now, state="failed", error=message)
        on_permanent(claim, message)
        report.failed += 1
    elif claim.attempts >= smtp.max_attempts:
        ledger.mark_final(engine, claim.id, owner=owner, now=now, state="failed",
                          error=f"gave up after {claim.attempts} attempts: {message}")
        report.failed += 1
    else:
        ledger.mark_retry(engine, claim.id, owner=owner, now=now, error=message,
                          next_attempt_at=now + backoff(claim.attempts))
        report.retried += 1

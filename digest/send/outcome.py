"""What the delivery loop exchanges with its callers: built messages and the run report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage

from digest.models import Claim


@dataclass(frozen=True, slots=True)
class Outgoing:
    """What the builder hands back for a claim: the message, or why there is none.

    ``data`` carries the exact bytes to transmit when the builder already flattened (and
    perhaps DKIM-signed) the message; otherwise the transport flattens ``message``.
    """

    message: EmailMessage | None
    sender: str = ""
    recipient: str = ""
    skip_state: str | None = None  # suppressed or skipped, when there is no message
    skip_reason: str | None = None
    data: bytes | None = None
    message_id: str | None = None


Builder = Callable[[Claim], Outgoing]


@dataclass(slots=True)
class SendReport:
    sent: int = 0
    retried: int = 0  # attempts that failed softly and were rescheduled
    failed: int = 0  # permanent failures in this run (5xx, or out of attempts)
    suppressed: int = 0  # not sent: unsubscribed, bounced or suppressed since planning
    skipped: int = 0
    bounced: int = 0  # 5xx rejections counted as hard bounces
    lease_lost: int = 0  # outcomes not recorded because another worker took the row over
    errors: list[str] = field(default_factory=list)
    aborted: str | None = None
    deferred: str | None = None  # stopped early on purpose (hourly cap)
    recipients: list[str] = field(default_factory=list)

"""What the delivery loop exchanges with its callers: built messages and the run report."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage

from digest.models import Claim, LeaseHolder


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
# A claimed batch in, one result per claim out, in order, as each is ready; a result that
# is an exception fails that delivery only (a StoreError stops the run).
BatchBuilder = Callable[[Sequence[Claim]], Iterable[Outgoing | Exception]]


@dataclass(slots=True)
class SendReport:
    """What one send run did. ``waiting`` and ``unknown`` count the rows it left that are
    not done: waiting for a retry, or with an unknown outcome (the CLI's exit code rule)."""

    sent: int = 0
    retried: int = 0  # attempts that failed softly and were rescheduled
    failed: int = 0  # final failures in this run (refused for good, or out of attempts)
    suppressed: int = 0  # not sent: unsubscribed, bounced or suppressed since planning
    skipped: int = 0
    bounced: int = 0  # refusals that blamed the mailbox, counted as hard bounces
    unknown: int = 0  # rows left with an unknown outcome (no reply to the end of DATA)
    waiting: int = 0  # rows left waiting for a retry (including given back by a stop)
    lease_lost: int = 0  # outcomes not recorded because another worker took the row over
    reclaimed: int = 0  # rows taken back at once from a dead sender on this machine
    errors: list[str] = field(default_factory=list)
    aborted: str | None = None
    misconfigured: bool = False  # the abort is the setup's fault (exit 2), not the messages'
    deferred: str | None = None  # stopped early on purpose (hourly cap)
    recipients: list[str] = field(default_factory=list)
    others: list[LeaseHolder] = field(default_factory=list)  # other senders' rows, at the end

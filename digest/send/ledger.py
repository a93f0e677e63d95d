"""What the delivery loop needs from the delivery ledger, as a protocol.

The loop never sees a database: it claims rows, records outcomes and keeps its leases
through these calls, the way it sends through ``Transport``. ``store.ledger_link`` is the
implementation over the store; tests may pass any object with these methods.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from digest.models import Claim, LeaseHolder, Outcome


class Ledger(Protocol):
    """The ledger as one send run uses it. Every method raises ``StoreError`` when the ledger
    cannot be read or written; ``close`` ends the run's hold on it."""

    async def claim(self, *, owner: str, now: datetime, limit: int, lease: timedelta,
                    subscriber_ids: Sequence[int] | None) -> list[Claim]:
        """Lease up to ``limit`` due rows for ``owner`` (each claim counts as an attempt)."""
        ...

    async def record(self, outcomes: Sequence[Outcome], *, owner: str, now: datetime,
                     bounce_threshold: int) -> int:
        """Write outcomes of rows ``owner`` still leases, in one transaction; returns how
        many were written (the rest were taken over after our lease ran out)."""
        ...

    async def renew(self, delivery_ids: Sequence[int], *, owner: str, now: datetime,
                    lease: timedelta) -> int:
        """Extend ``owner``'s leases on these rows; returns how many it still held."""
        ...

    async def release(self, delivery_ids: Sequence[int], *, owner: str, now: datetime,
                      note: str | None = None) -> int:
        """Give leased rows back untouched (due again at once, the attempt not counted;
        ``note`` says why); returns how many."""
        ...

    async def holders(self, *, now: datetime) -> list[LeaseHolder]:
        """Every sender holding unexpired leases now (ourselves included)."""
        ...

    async def expire(self, owner: str, *, now: datetime) -> int:
        """End ``owner``'s leases now (a dead sender's): its rows are due at once."""
        ...

    async def refusal(self, subscriber_id: int, address: str) -> str | None:
        """Why this subscriber must not get mail now (unsubscribed, bounced, suppressed),
        or None: asked right before each message."""
        ...

    async def next_retry_at(self, *, subscriber_ids: Sequence[int] | None) -> datetime | None:
        """When the earliest waiting retry falls due (None when nothing waits)."""
        ...

    async def close(self) -> None:
        """Release the connections this run held."""
        ...

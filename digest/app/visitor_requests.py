"""Use case: visitor requests done off the request path, so that the web's answer — status,
body and time — never depends on what digest knows about an address.

The web stores a request (a sign-up, "send me my link") and answers at once, the same page
for every address; ``VisitorQueue.work`` then does what the address's state calls for (a
confirmation mail, a manage-link mail, or nothing). A relay outage leaves the request
queued and retried with backoff, never a 503 to the visitor.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from digest.app.subscriptions import Subscriptions
from digest.errors import DeliveryError, DigestError, StoreError
from digest.profiles import ProfileError, validate_profile
from digest.store import Engine
from digest.store import visitor_requests as queue

log = logging.getLogger("digest.visitors")

LEASE = timedelta(minutes=5)  # a worker that dies mid-request leaves it due again after this
MAX_ATTEMPTS = 12  # with the backoff below: about a day of relay outage, then given up
BACKOFF_BASE, BACKOFF_MAX = 30.0, 3 * 3600.0  # seconds


@dataclass(slots=True)
class WorkReport:
    """What one pass did: requests done, left for a retry, given up."""

    done: int = 0
    retried: int = 0
    dropped: int = 0


@dataclass(frozen=True, slots=True)
class VisitorQueue:
    """The queue over the store and the subscription lifecycle that does the work."""

    engine: Engine
    subscriptions: Subscriptions

    def ask_subscribe(self, fields: dict[str, str], *, now: datetime) -> int:
        """Queue a validated sign-up form (email, interests, frequency, timezone); returns its id."""
        return queue.enqueue(self.engine, "subscribe", dict(fields), now=now)

    def ask_link(self, email: str, *, now: datetime) -> int:
        """Queue a "send me my link" request for a normalized address; returns its id."""
        return queue.enqueue(self.engine, "link", {"email": email}, now=now)

    async def _do(self, kind: str, payload: dict[str, str], now: datetime) -> None:
        if kind == "subscribe":
            data = validate_profile(payload)
            await self.subscriptions.subscribe(data, now=now, origin="web")
        elif kind == "link":
            await self.subscriptions.send_manage_link(str(payload.get("email", "")), now=now)
        else:
            raise ProfileError(f"unknown visitor request kind {kind!r}")

    async def work(self, *, now: datetime, limit: int = 20) -> WorkReport:
        """Do the due requests (at most ``limit``). A failed send is retried later with
        exponential backoff (``BACKOFF_BASE`` s doubling, at most ``BACKOFF_MAX``), given up
        after ``MAX_ATTEMPTS``; a request that can never succeed is dropped at once. Raises
        StoreError when the queue cannot be read (the caller tries again later)."""
        report = WorkReport()
        for request in queue.claim_due(self.engine, now=now, lease=LEASE, limit=limit):
            try:
                await self._do(request.kind, request.payload, now)
            except DeliveryError as exc:
                if request.attempts + 1 >= MAX_ATTEMPTS:
                    log.warning("visitor request %s given up after %d attempts: %s",
                                request.id, request.attempts + 1, exc)
                    queue.finish(self.engine, request.id)
                    report.dropped += 1
                    continue
                delay = min(BACKOFF_BASE * 2 ** request.attempts, BACKOFF_MAX)
                queue.retry_later(self.engine, request.id, at=now + timedelta(seconds=delay),
                                  error=str(exc))
                report.retried += 1
                continue
            except StoreError:
                raise  # the store is away: the lease brings the request back later
            except DigestError as exc:  # e.g. a form that no longer validates: never will
                log.warning("visitor request %s dropped: %s", request.id, exc)
                queue.finish(self.engine, request.id)
                report.dropped += 1
                continue
            queue.finish(self.engine, request.id)
            report.done += 1
        return report

    def waiting(self) -> int:
        """How many requests wait in the queue."""
        return queue.pending_count(self.engine)

"""The delivery loop: claim due ledger rows, build each message, send, record the outcome.

One worker per pooled connection sends concurrently. A row is marked sent only after the
server accepted it, and a worker starts its next DATA only once that mark is committed (group
commit: one transaction records whatever finished meanwhile), so a crash re-sends at most
one message per worker. Per-message failures are data (retry with backoff, or fail and count
a hard bounce on a 5xx); only a run of consecutive failures of every kind aborts.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from digest.config import SmtpSettings
from digest.errors import DeliveryError, SendAborted, StoreError
from digest.models import Claim, Outcome
from digest.send.build_ahead import BuildAhead, Built
from digest.send.ledger import Ledger
from digest.send.outcome import Builder, Outgoing, SendReport
from digest.send.pacing import RateLimiter
from digest.send.transport import Transport

Clock = Callable[[], datetime]

__all__ = ["Builder", "Outgoing", "SendReport", "backoff", "deliver_due"]


def backoff(attempts: int, *, base: float = 60.0, cap: float = 6 * 3600.0) -> timedelta:
    """Exponential backoff with jitter: base·2^(n-1), jittered down by up to half, so
    retries from many recipients spread out and a throttling server can recover."""
    ceiling = min(cap, base * 2 ** max(0, attempts - 1))
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))


def _utcnow() -> datetime:
    return datetime.now(UTC)


class _Run:
    def __init__(self, ledger: Ledger, transport: Transport, build: Builder, *, owner: str,
                 smtp: SmtpSettings, clock: Clock, limit: int | None,
                 subscriber_ids: Sequence[int] | None, limiter: RateLimiter,
                 on_progress: Callable[[int], None] | None) -> None:
        self.ledger, self.transport = ledger, transport
        self.builder = BuildAhead(build)
        self.owner, self.smtp, self.clock, self.limit = owner, smtp, clock, limit
        self.subscriber_ids, self.limiter, self.on_progress = subscriber_ids, limiter, on_progress
        self.lease = timedelta(seconds=smtp.lease_seconds)
        self.report = SendReport()
        self.buffer: deque[tuple[Claim, asyncio.Future[Built]]] = deque()
        self.held: set[int] = set()  # leased by us and not yet recorded
        self.handed = self.in_flight = self.done = self.consecutive = 0
        self.changed = asyncio.Event()
        self.claim_lock = asyncio.Lock()
        self.stop_reason: str | None = None
        self.queue: list[tuple[Outcome, asyncio.Future[None]]] = []
        self.flushing = False
        self.retry_deadline: float | None = None  # monotonic end of waiting for retries

    # -- claiming -------------------------------------------------------------------------
    async def next_claim(self) -> tuple[Claim, asyncio.Future[Built]] | None:
        async with self.claim_lock:
            while self.stop_reason is None:
                if self.buffer:
                    self.handed += 1
                    self.in_flight += 1
                    return self.buffer.popleft()
                if self.limit is not None and self.handed >= self.limit:
                    return None
                size = self.smtp.claim_batch
                if self.limit is not None:
                    size = min(size, self.limit - self.handed)
                claims = await self.ledger.claim(
                    owner=self.owner, now=self.clock(), limit=size, lease=self.lease,
                    subscriber_ids=self.subscriber_ids)
                if claims:
                    self.buffer.extend(zip(claims, self.builder.submit(claims), strict=True))
                    self.held.update(c.id for c in claims)
                    continue
                if self.in_flight:  # a message still on its way may come back as a retry
                    self.changed.clear()
                    await self.changed.wait()
                    continue
                if not await self._wait_for_retry():
                    return None
            return None

    async def _wait_for_retry(self) -> bool:
        """Sleep until the next retry falls due if that is within the retry window."""
        wake = await self.ledger.next_retry_at(subscriber_ids=self.subscriber_ids)
        if wake is None:
            return False
        delay = (wake - self.clock()).total_seconds()
        # The window is also bounded in real time, so a clock that stands still (a test's,
        # or a skewed one) can never keep a run waiting for ever.
        if self.retry_deadline is None:
            self.retry_deadline = time.monotonic() + self.smtp.retry_window_seconds
        if delay > self.smtp.retry_window_seconds or time.monotonic() + delay > self.retry_deadline:
            return False
        await asyncio.sleep(max(0.0, delay) + 0.01)
        return True

    # -- sending --------------------------------------------------------------------------
    async def worker(self) -> None:
        """Send one message at a time. The previous outcome's commit overlaps claiming and
        taking the next built message, but the next DATA starts only once that commit is
        durable: at most one accepted-but-unrecorded message per worker at any moment."""
        previous: asyncio.Task[None] | None = None
        while (item := await self.next_claim()) is not None:
            claim, built = item
            try:
                prepared = self.prepare(claim, await built)
            except Exception as exc:
                prepared = self.failure(claim, DeliveryError(f"unexpected {exc!r}"))
            if previous is not None:
                await previous  # a ledger error surfaces here and ends the run
                previous = None
            outcome: Outcome | None = prepared if isinstance(prepared, Outcome) else None
            if isinstance(prepared, Outgoing):
                try:
                    outcome = await self.transmit(claim, prepared)
                except SendAborted as exc:  # the transport says no message can go out
                    self.stop(str(exc), abort=True)
                    outcome = None  # give the row back untouched
                except Exception as exc:
                    outcome = self.failure(claim, DeliveryError(f"unexpected {exc!r}"))
            previous = asyncio.create_task(self.settle(claim, outcome))
        if previous is not None:
            await previous

    async def settle(self, claim: Claim, outcome: Outcome | None) -> None:
        try:
            if outcome is None:  # not attempted (stopping): give the row back untouched
                await self.ledger.release([claim.id], owner=self.owner, now=self.clock())
            else:
                await self.record(outcome)
                self.done += 1
                if self.on_progress:
                    self.on_progress(self.done)
        finally:
            self.held.discard(claim.id)
            self.in_flight -= 1
            self.changed.set()

    def prepare(self, claim: Claim, built: Built) -> Outgoing | Outcome:
        """What the builder made of a claim: a message, or an outcome (skip, failure)."""
        if isinstance(built, Exception):
            return self.failure(claim, DeliveryError(f"cannot build the message: "
                                                     f"{type(built).__name__}: {built}"))
        if built.message is None and built.data is None:
            return self.skip(claim, built.skip_state or "skipped", built.skip_reason)
        return built

    def skip(self, claim: Claim, state: str, reason: str | None) -> Outcome:
        self.report.suppressed += state == "suppressed"
        self.report.skipped += state == "skipped"
        return Outcome(claim.id, state, error=reason)

    async def transmit(self, claim: Claim, out: Outgoing) -> Outcome | None:
        if self.stop_reason is not None:  # built ahead, but the run is stopping
            return None
        if not await self.limiter.acquire():
            self.stop(f"hourly cap of {self.smtp.hourly_cap} messages reached; "
                      "the rest waits for a later run", abort=False)
            return None
        # Built ahead, so ask again now: an unsubscribe or a bounce since then wins.
        refused = await self.ledger.refusal(claim.subscriber_id, out.recipient)
        if refused is not None:
            return self.skip(claim, "suppressed", refused)
        message_id = out.message_id or (str(out.message["Message-ID"]) if out.message else "")
        try:
            receipt = await self.transport.send(
                out.data if out.data is not None else out.message,  # type: ignore[arg-type]
                sender=out.sender, recipient=out.recipient, message_id=message_id)
        except DeliveryError as exc:
            return self.failure(claim, exc)
        self.consecutive = 0
        self.report.sent += 1
        self.report.recipients.append(out.recipient)
        return Outcome(claim.id, "sent", message_id=message_id, reply=receipt.reply,
                       transport=receipt.transport)

    def failure(self, claim: Claim, exc: DeliveryError) -> Outcome:
        text = str(exc)
        self.report.errors.append(text)
        self.consecutive += 1
        if self.consecutive >= self.smtp.abort_after_consecutive_failures:
            self.stop(f"{self.consecutive} consecutive delivery failures, last: {text}; "
                      "check the SMTP settings", abort=True)
        if exc.permanent:
            # Only a server's 5xx says the mailbox is bad; an address we cannot even
            # encode fails this delivery without counting against the subscriber.
            bounce = exc.code is not None and 500 <= exc.code < 600
            self.report.failed += 1
            self.report.bounced += bounce
            return Outcome(claim.id, "failed", error=text,
                           bounce_subscriber_id=claim.subscriber_id if bounce else None)
        if claim.attempts >= self.smtp.max_attempts:
            self.report.failed += 1
            return Outcome(claim.id, "failed",
                           error=f"gave up after {claim.attempts} attempts: {text}")
        self.report.retried += 1
        wait = backoff(claim.attempts, base=self.smtp.retry_base_seconds,
                       cap=self.smtp.retry_max_seconds)
        return Outcome(claim.id, "retry", error=text, next_attempt_at=self.clock() + wait)

    def stop(self, reason: str, *, abort: bool) -> None:
        if self.stop_reason is None:
            self.stop_reason = reason
            if abort:
                self.report.aborted = reason
            else:
                self.report.deferred = reason
        self.changed.set()

    # -- recording ------------------------------------------------------------------------
    async def record(self, outcome: Outcome) -> None:
        """Return once ``outcome`` is committed. The first waiter commits for everyone
        queued behind it, so concurrent workers share one transaction."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.queue.append((outcome, done))
        if not self.flushing:
            self.flushing = True
            try:
                while self.queue:
                    batch, self.queue = self.queue, []
                    try:
                        applied = await self.ledger.record(
                            [o for o, _ in batch], owner=self.owner, now=self.clock(),
                            bounce_threshold=self.smtp.hard_bounce_threshold)
                    except BaseException as exc:
                        for _, fut in batch:
                            if not fut.done():
                                fut.set_exception(exc)
                        if not isinstance(exc, Exception):
                            raise
                        continue
                    self.report.lease_lost += len(batch) - applied
                    for _, fut in batch:
                        fut.set_result(None)
            finally:
                self.flushing = False
        await done

    async def heartbeat(self) -> None:
        """Renew our leases well before they run out: a slow send is not a crash."""
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            try:
                await self.ledger.renew(list(self.held), owner=self.owner, now=self.clock(),
                                        lease=self.lease)
            except StoreError as exc:  # a busy database: try again on the next beat
                self.report.errors.append(f"lease renewal failed: {exc}")


async def deliver_due(ledger: Ledger, transport: Transport, build: Builder, *, owner: str,
                      smtp: SmtpSettings, clock: Clock = _utcnow, limit: int | None = None,
                      subscriber_ids: Sequence[int] | None = None,
                      limiter: RateLimiter | None = None,
                      on_progress: Callable[[int], None] | None = None) -> SendReport:
    """Send every due delivery (at most ``limit``); raises SendAborted after too many
    consecutive failures, with the report so far on ``exc.report``."""
    run = _Run(ledger, transport, build, owner=owner, smtp=smtp, clock=clock, limit=limit,
               subscriber_ids=subscriber_ids,
               limiter=limiter or RateLimiter(smtp.rate_per_second, smtp.hourly_cap),
               on_progress=on_progress)
    beat = asyncio.create_task(run.heartbeat())
    try:
        workers = [asyncio.create_task(run.worker()) for _ in range(max(1, transport.concurrency))]
        results = await asyncio.gather(*workers, return_exceptions=True)
    finally:
        beat.cancel()
        run.builder.close()
        try:
            if run.buffer:
                await ledger.release([c.id for c, _ in run.buffer], owner=owner, now=clock())
        finally:
            await ledger.close()
    for result in results:
        if isinstance(result, BaseException):
            raise result
    if run.report.aborted:
        error = SendAborted(run.report.aborted)
        error.report = run.report  # type: ignore[attr-defined]
        raise error
    return run.report

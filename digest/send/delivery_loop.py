"""The delivery loop: claim due ledger rows, build each message, send, record the outcome.

One worker per pooled connection sends concurrently. A row is marked sent only after the
server accepted it, and a worker starts its next DATA only once that mark is committed (group
commit), so a crash re-sends at most one message per worker. What a failure means is
decided in ``send.fates``. If the ledger itself fails (a lost database connection, a failed
commit), the run stops at once, gives back what it holds and says so: it never sends on
without recording, and never idles holding leases it will not use.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal

from digest.config import SmtpSettings
from digest.errors import DeliveryError, SendAborted, SendMisconfigured, StoreError
from digest.models import Claim, Outcome
from digest.send.build_ahead import BuildAhead, Built
from digest.send.fates import Fates, backoff
from digest.send.group_commit import GroupCommit
from digest.send.ledger import Ledger
from digest.send.outcome import BatchBuilder, Builder, Outgoing, SendReport
from digest.send.owners import holder_state
from digest.send.pacing import RateLimiter, RetryWait
from digest.send.transport import Transport

Clock = Callable[[], datetime]
Held = Literal["held"]  # a refusal held back until the run shows the server takes our mail

__all__ = ["Builder", "Outgoing", "SendReport", "backoff", "deliver_due"]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class _Run:
    def __init__(self, ledger: Ledger, transport: Transport, build: Builder, *, owner: str,
                 smtp: SmtpSettings, clock: Clock, limit: int | None,
                 subscriber_ids: Sequence[int] | None, limiter: RateLimiter,
                 on_progress: Callable[[int], None] | None, batch: BatchBuilder | None) -> None:
        self.ledger, self.transport = ledger, transport
        self.builder = BuildAhead(build, batch)
        self.owner, self.smtp, self.clock, self.limit = owner, smtp, clock, limit
        self.subscriber_ids, self.limiter, self.on_progress = subscriber_ids, limiter, on_progress
        self.lease = timedelta(seconds=smtp.lease_seconds)
        self.report = SendReport()
        self.fates = Fates(smtp, self.report, clock)
        self.commits = GroupCommit(ledger, owner=owner, clock=clock,
                                   bounce_threshold=smtp.hard_bounce_threshold)
        self.buffer: deque[tuple[Claim, asyncio.Future[Built]]] = deque()
        self.held: set[int] = set()  # leased by us and not yet recorded
        self.states: dict[int, str] = {}  # the last state recorded for each row
        self.handed = self.in_flight = self.done = 0
        self.changed = asyncio.Event()
        self.claim_lock = asyncio.Lock()
        self.deferred: str | None = None
        self.store_error: StoreError | None = None
        self.retry_wait = RetryWait(smtp.retry_window_seconds)

    @property
    def stopping(self) -> bool:
        return self.fates.stop is not None or self.deferred is not None

    def lose_store(self, exc: StoreError) -> None:
        """The ledger failed: stop sending now (nothing may go out unrecorded)."""
        if self.store_error is None:
            self.store_error = exc
        self.fates.halt(f"the ledger database failed, so sending stopped: {exc}; what was "
                        "recorded stays recorded, the rest was given back for the next run",
                        setup=False)
        self.changed.set()

    # -- claiming -------------------------------------------------------------------------
    async def next_claim(self) -> tuple[Claim, asyncio.Future[Built]] | None:
        async with self.claim_lock:
            while not self.stopping:
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
                if await self.reclaim_dead():
                    continue
                wake = await self.ledger.next_retry_at(subscriber_ids=self.subscriber_ids)
                if not await self.retry_wait.until(wake, now=self.clock()):
                    return None
            return None

    async def reclaim_dead(self) -> int:
        """Take back at once the rows of senders on this machine whose process is gone."""
        taken = 0
        for holder in await self.ledger.holders(now=self.clock()):
            if holder_state(holder.owner) == "dead":
                taken += await self.ledger.expire(holder.owner, now=self.clock())
        self.report.reclaimed += taken
        return taken

    # -- sending --------------------------------------------------------------------------
    async def worker(self) -> None:
        """Send one message at a time. The previous outcome's commit overlaps claiming and
        taking the next built message, but the next DATA starts only once that commit is
        durable: at most one accepted-but-unrecorded message per worker at any moment."""
        previous: asyncio.Task[None] | None = None
        try:
            while (item := await self.next_claim()) is not None:
                claim, built = item
                outcome: Outcome | Held | None = None  # None: give the row back untouched
                try:
                    prepared = self.prepare(claim, await built)
                    if previous is not None:
                        await previous  # a failed commit stops the run (lose_store)
                        previous = None
                    if isinstance(prepared, Outcome):
                        outcome = prepared
                    elif not self.stopping:
                        outcome = await self.transmit(claim, prepared)
                except StoreError as exc:
                    self.lose_store(exc)
                except SendAborted as exc:  # the transport says no message can go out
                    self.fates.halt(str(exc), setup=isinstance(exc, SendMisconfigured))
                    self.changed.set()
                except Exception as exc:
                    outcome = self.fates.failed(
                        claim, DeliveryError(f"unexpected {exc!r}", fault="transient")) or "held"
                previous = asyncio.create_task(self.settle(claim, outcome))
        except StoreError as exc:
            self.lose_store(exc)
        finally:
            if previous is not None:
                await previous

    def prepare(self, claim: Claim, built: Built) -> Outgoing | Outcome:
        """What the builder made of a claim: a message, or an outcome (skip, failure)."""
        if isinstance(built, StoreError):
            raise built  # the database, not the message: stop, give the row back
        if isinstance(built, Exception):
            outcome = self.fates.failed(claim, DeliveryError(
                f"cannot build the message: {type(built).__name__}: {built}", fault="local"))
            assert outcome is not None  # a local failure is never held
            return outcome
        if built.message is None and built.data is None:
            return self.skip(claim, built.skip_state or "skipped", built.skip_reason)
        return built

    def skip(self, claim: Claim, state: str, reason: str | None) -> Outcome:
        self.report.suppressed += state == "suppressed"
        self.report.skipped += state == "skipped"
        return Outcome(claim.id, state, error=reason)

    async def transmit(self, claim: Claim, out: Outgoing) -> Outcome | Held | None:
        if not await self.limiter.acquire():
            self.deferred = (f"hourly cap of {self.smtp.hourly_cap} messages reached; "
                             "the rest waits for a later run")
            self.report.deferred = self.deferred
            self.changed.set()
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
            return self.fates.failed(claim, exc) or "held"
        self.fates.delivered()
        self.report.sent += 1
        self.report.recipients.append(out.recipient)
        return Outcome(claim.id, "sent", message_id=message_id, reply=receipt.reply,
                       transport=receipt.transport)

    # -- recording ------------------------------------------------------------------------
    async def settle(self, claim: Claim, outcome: Outcome | Held | None) -> None:
        try:
            if outcome is None:  # not attempted (stopping): give the row back untouched
                await self.ledger.release([claim.id], owner=self.owner, now=self.clock(),
                                          note=self.fates.stop or self.deferred)
                self.held.discard(claim.id)
            elif outcome != "held":
                settled = [outcome]
                await self.record(settled)
                if outcome.state == "sent" and self.fates.held:
                    held = self.fates.settle_held()  # proof the server takes our mail
                    await self.record(held)
                    settled += held
                self.done += len(settled)
                if self.on_progress:
                    self.on_progress(self.done)
        except StoreError as exc:
            self.lose_store(exc)  # the row stays ours until finish() gives it back
        finally:
            self.in_flight -= 1
            self.changed.set()

    async def record(self, outcomes: Sequence[Outcome]) -> None:
        if outcomes:
            await self.commits.record(outcomes)
            for o in outcomes:
                self.held.discard(o.delivery_id)
                self.states[o.delivery_id] = o.state

    async def heartbeat(self) -> None:
        """Renew our leases well before they run out: a slow send is not a crash. It runs
        only while workers run, and renews only rows still in our hands."""
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            try:
                await self.ledger.renew(list(self.held), owner=self.owner, now=self.clock(),
                                        lease=self.lease)
            except StoreError as exc:  # a busy database: try again on the next beat
                self.report.errors.append(f"lease renewal failed: {exc}")

    async def finish(self) -> None:
        """Settle held refusals, give back every row still ours, note who else holds rows,
        and close the ledger; the report then says what this run leaves undone."""
        try:
            if self.fates.held and self.store_error is None:
                await self.record(self.fates.settle_held())
        except StoreError as exc:
            self.lose_store(exc)
        leftover = [c.id for c, _ in self.buffer] + sorted(self.held)
        self.buffer.clear()
        try:
            if leftover:
                await self.ledger.release(leftover, owner=self.owner, now=self.clock(),
                                          note=self.fates.stop or self.deferred)
            self.report.others = [h for h in await self.ledger.holders(now=self.clock())
                                  if h.owner != self.owner]
        except StoreError as exc:
            self.report.errors.append(
                f"could not give back {len(leftover)} deliveries ({exc}); they return when "
                "their lease ends, or at once to the next send on this machine")
        finally:
            await self.ledger.close()
        report = self.report
        report.lease_lost = self.commits.lease_lost
        report.waiting = sum(state == "retry" for state in self.states.values())
        report.unknown = sum(state == "unknown" for state in self.states.values())
        report.aborted = self.fates.stop
        report.misconfigured = self.fates.stop_is_setup


async def deliver_due(ledger: Ledger, transport: Transport, build: Builder, *, owner: str,
                      smtp: SmtpSettings, clock: Clock = _utcnow, limit: int | None = None,
                      subscriber_ids: Sequence[int] | None = None,
                      limiter: RateLimiter | None = None,
                      on_progress: Callable[[int], None] | None = None,
                      build_batch: BatchBuilder | None = None) -> SendReport:
    """Send every due delivery (at most ``limit``), built a claimed batch at a time by
    ``build_batch`` if given, else by ``build``. Raises SendMisconfigured when the setup
    refuses every message (all connections fail alike, the server refuses our sender),
    SendAborted after too many failures or a ledger fault (report on ``exc.report``)."""
    run = _Run(ledger, transport, build, owner=owner, smtp=smtp, clock=clock, limit=limit,
               subscriber_ids=subscriber_ids, batch=build_batch,
               limiter=limiter or RateLimiter(smtp.rate_per_second, smtp.hourly_cap),
               on_progress=on_progress)
    results: list[BaseException | None] = []
    beat = asyncio.create_task(run.heartbeat())
    try:
        try:
            await run.reclaim_dead()
        except StoreError as exc:
            run.lose_store(exc)
        workers = [asyncio.create_task(run.worker()) for _ in range(max(1, transport.concurrency))]
        results = await asyncio.gather(*workers, return_exceptions=True)
    finally:
        beat.cancel()
        run.builder.close()
        await run.finish()
    for result in results:
        if isinstance(result, BaseException):
            raise result
    if run.report.aborted:
        kind = SendMisconfigured if run.report.misconfigured else SendAborted
        error = kind(run.report.aborted)
        error.report = run.report  # type: ignore[attr-defined]
        raise error
    return run.report

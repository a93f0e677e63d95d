"""Use case: deliver what is due — claim planned ledger rows, build each digest from its
frozen picks, send it through the transport, record every outcome.

A dry run writes what would go out into the outbox and leaves the ledger untouched.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from digest.app.build_mail import MessageMaker, read_jobs
from digest.app.build_pool import BuildPool, MakerRecipe, processes_for
from digest.app.digest_mail import DigestMail
from digest.config import SmtpSettings
from digest.errors import StoreError
from digest.models import Claim
from digest.send.build_ahead import Built
from digest.send.delivery_loop import Outgoing, SendReport, deliver_due
from digest.send.dkim import DkimSigner
from digest.send.ledger import Ledger
from digest.send.owners import owner_id
from digest.send.pacing import RateLimiter
from digest.send.transport import OutboxTransport, Transport
from digest.send.verp import Verp
from digest.store import Engine, claims, leases, ledger
from digest.store.subscribers import get_subscriber

__all__ = ["Delivery", "SendReport", "utcnow", "worker_id"]

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The wall clock, as an aware UTC datetime."""
    return datetime.now(UTC)


def worker_id() -> str:
    """This process's name on the leases it holds: ``host:pid:random:space`` (send.owners)."""
    return owner_id()


@dataclass(frozen=True, slots=True)
class Delivery:
    """Sends due deliveries. Built once by the composition root with its parts: the store,
    a ledger and a transport per run, the digest builder, the DKIM signer (or None) and the
    VERP bounce addresses (or None)."""

    engine: Engine
    open_ledger: Callable[[], Ledger]
    open_transport: Callable[[], Transport]
    mail: DigestMail
    smtp: SmtpSettings
    outbox_dir: Path
    dkim: DkimSigner | None = None
    verp: Verp | None = None  # DIGEST_BOUNCE_ADDRESS: the envelope sender names the row

    @property
    def maker(self) -> MessageMaker:
        """The store-free part of building: render, compose, flatten, DKIM-sign."""
        return MessageMaker(self.mail, self.dkim, self.verp)

    def build(self, claim: Claim, clock: Clock = utcnow) -> Outgoing:
        """The message for one claimed row, rendered from its frozen picks; a subscriber who
        left since planning gets none (whether mail may still go is asked again right
        before sending: the ledger's ``refusal``)."""
        return self.maker.make(read_jobs(self.engine, [claim])[0], clock())

    def build_batch(self, claims: Sequence[Claim], clock: Clock = utcnow,
                    pool: BuildPool | None = None) -> Iterator[Built]:
        """``build`` for a whole claimed batch from one store read (``read_jobs``), in the
        worker processes of ``pool`` when given: one result per claim, in order, an
        exception for a message that cannot be built (a StoreError for all of them when the
        read fails)."""
        try:
            jobs = read_jobs(self.engine, claims)
        except StoreError as exc:
            yield from (exc for _ in claims)
            return
        if pool is not None:
            yield from pool.build(jobs, clock())
            return
        maker = self.maker
        for job in jobs:
            try:
                yield maker.make(job, clock())
            except Exception as exc:
                yield exc

    def subscriber_ids(self, only: str | None) -> list[int] | None:
        """The ids ``--only EMAIL`` narrows a run to (None: everyone; []: nobody)."""
        if only is None:
            return None
        sub = get_subscriber(self.engine, email=only)
        return [sub.id] if sub else []

    def count_due(self, *, only: str | None = None) -> int:
        """How many deliveries a send would handle now (for a progress bar)."""
        return claims.count_due(self.engine, now=utcnow(), subscriber_ids=self.subscriber_ids(only))

    def limiter(self, now: datetime) -> RateLimiter:
        """Pacing for one run; the hourly cap counts what earlier runs sent in the last hour."""
        recent: list[float] = []
        if self.smtp.hourly_cap:
            mono = time.monotonic()
            recent = [mono - (now - t).total_seconds()
                      for t in ledger.sent_times_since(self.engine, now - timedelta(hours=1))]
        return RateLimiter(self.smtp.rate_per_second, self.smtp.hourly_cap, recent=recent)

    async def deliver_async(self, *, clock: Clock | None = None, limit: int | None = None,
                            owner: str | None = None, only: str | None = None,
                            dry_run: bool = False,
                            on_progress: Callable[[int], None] | None = None,
                            wait_for_retries: bool = True) -> SendReport:
        """Send due rows (at most ``limit``) inside the caller's event loop; with
        ``dry_run``, write them to the outbox without touching the ledger;
        ``wait_for_retries=False``: leave a retry due later to a later run instead of waiting
        up to ``retry_window_seconds`` for it. Raises SendAborted (report on ``exc.report``)
        after too many consecutive failures."""
        clock = clock or utcnow

        def build(claim: Claim) -> Outgoing:
            return self.build(claim, clock)

        ids = self.subscriber_ids(only)
        if dry_run:
            return await self._dry_run(build, clock=clock, limit=limit, subscriber_ids=ids)
        pool: BuildPool | None = None

        def build_batch(batch: Sequence[Claim]) -> Iterator[Built]:
            return self.build_batch(batch, clock, pool)

        transport = self.open_transport()
        try:
            pool = self.build_pool(ids, limit, clock())
            smtp = (self.smtp if wait_for_retries
                    else self.smtp.model_copy(update={"retry_window_seconds": 0.0}))
            return await deliver_due(self.open_ledger(), transport, build,
                                     owner=owner or worker_id(), smtp=smtp, clock=clock,
                                     limit=limit, subscriber_ids=ids,
                                     limiter=self.limiter(clock()), on_progress=on_progress,
                                     build_batch=build_batch)
        finally:
            await transport.close()
            if pool is not None:
                await asyncio.to_thread(pool.close)

    def build_pool(self, subscriber_ids: list[int] | None, limit: int | None,
                   now: datetime) -> BuildPool | None:
        """Worker processes for this run's builds, or None to build in this process
        (DIGEST_SMTP__BUILD_PROCESSES; "auto" counts what is due first)."""
        setting = self.smtp.build_processes
        due = None
        if setting < 0:
            due = claims.count_due(self.engine, now=now, subscriber_ids=subscriber_ids)
            due = min(due, limit) if limit is not None else due
        processes = processes_for(setting, due)
        if processes == 0:
            return None
        return BuildPool(MakerRecipe.of(self.maker, self.smtp), processes, self.maker)

    def deliver(self, *, clock: Clock | None = None, limit: int | None = None,
                only: str | None = None, dry_run: bool = False,
                on_progress: Callable[[int], None] | None = None) -> SendReport:
        """``deliver_async`` on its own event loop (for the CLI)."""
        return asyncio.run(self.deliver_async(clock=clock, limit=limit, only=only,
                                              dry_run=dry_run, on_progress=on_progress))

    async def _dry_run(self, build: Callable[[Claim], Outgoing], *, clock: Clock,
                       limit: int | None, subscriber_ids: list[int] | None) -> SendReport:
        report = SendReport()
        outbox = OutboxTransport(self.outbox_dir)
        for claim in claims.peek_due(self.engine, now=clock(), limit=limit,
                                     subscriber_ids=subscriber_ids):
            out = await asyncio.to_thread(build, claim)
            state: str | None
            if out.message is None and out.data is None:
                state = out.skip_state or "skipped"
            else:  # the same rule the real send applies right before each message
                refused = claims.refusal(self.engine, claim.subscriber_id, out.recipient)
                state = "suppressed" if refused else None
            if state is not None:
                report.suppressed += state == "suppressed"
                report.skipped += state != "suppressed"
                continue
            await outbox.send(out.data if out.data is not None else out.message,  # type: ignore[arg-type]
                              sender=out.sender, recipient=out.recipient,
                              message_id=out.message_id)
            report.sent += 1
            report.recipients.append(out.recipient)
        return report

    def release_held(self, owner: str, *, now: datetime) -> int:
        """Give back every row ``owner`` still leases (a graceful shutdown); returns how many."""
        return leases.release(self.engine, leases.leased_by(self.engine, owner), owner=owner,
                              now=now)

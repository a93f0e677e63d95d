"""The per-process send loop: every node claims due ledger rows and sends them.

Stopping finishes the message on the wire, then gives every other claimed row back to the
ledger (``ledger.release``) so another node or the next run sends it — never twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from digest.pipeline import deliver_async, worker_id
from digest.runtime import Runtime
from digest.send.deliver import SendReport
from digest.store import history, ledger
from digest.store.jobs import record_job_run

log = logging.getLogger("digest.service")


class _Stopping(Exception):
    """Raised from the progress hook between two messages once shutdown has begun: it is
    the one point where deliver_due has finished a message and not yet claimed the next."""


def handled(report: SendReport) -> int:
    return report.sent + report.retried + report.failed + report.suppressed + report.skipped


def counts(report: SendReport) -> dict[str, int]:
    return {"sent": report.sent, "retried": report.retried, "failed": report.failed,
            "suppressed": report.suppressed, "skipped": report.skipped}


class Sender:
    def __init__(self, rt: Runtime, clock: Callable[[], datetime], *,
                 owner: str | None = None) -> None:
        self.rt = rt
        self.clock = clock
        self.owner = owner or worker_id()
        self.stopping = False
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._active: asyncio.Task[SendReport] | None = None

    def kick(self) -> None:
        self._wake.set()

    def _check(self, _n: int) -> None:
        if self.stopping:
            raise _Stopping

    async def _deliver(self) -> SendReport:
        try:
            return await deliver_async(self.rt, clock=self.clock, owner=self.owner,
                                       on_progress=self._check)
        except _Stopping:
            return SendReport(errors=["stopped for shutdown"])

    async def drain(self) -> SendReport:
        """Send everything due now (one drain at a time per process)."""
        async with self._lock:
            if self.stopping:
                return SendReport()
            self._active = active = asyncio.ensure_future(self._deliver())
            try:
                # Shielded: a cancelled caller (the scheduler shutting down) must not cut a
                # message off mid-DATA; stop() decides how long the message may take.
                return await asyncio.shield(active)
            finally:
                if active.done():
                    self._active = None

    async def run(self, interval: timedelta) -> None:
        """Drain on every tick or kick until stopped; a run that sent something is recorded."""
        while not self.stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval.total_seconds())
            self._wake.clear()
            if self.stopping:
                break
            started = self.clock()
            error = None
            try:
                report = await self.drain()
            except Exception as exc:
                report, error = SendReport(), f"{type(exc).__name__}: {exc}"
            if handled(report) or error:
                record_job_run(self.rt.engine, job="send", started_at=started,
                               finished_at=self.clock(), counts=counts(report), error=error)

    async def stop(self, timeout: float) -> int:
        """Stop claiming, let the message in flight finish (up to ``timeout`` s), then release
        whatever this process still holds. Returns how many rows were released."""
        self.stopping = True
        self._wake.set()
        active = self._active
        if active is not None:
            done, _ = await asyncio.wait({active}, timeout=timeout)
            if not done:
                active.cancel()
                with contextlib.suppress(BaseException):
                    await active
        held = await asyncio.to_thread(history.leased_by, self.rt.engine, self.owner)
        released = await asyncio.to_thread(
            lambda: ledger.release(self.rt.engine, held, owner=self.owner, now=self.clock()))
        if released:
            log.info('{"event": "released", "deliveries": %d}', released)
        return released

"""Use case: the per-process send loop of the service — every node claims due ledger rows
and sends them.

Stopping finishes the message on the wire, then gives every other claimed row back to the
ledger so another node or the next run sends it — never twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from digest.app.deliver import Delivery, worker_id
from digest.errors import StoreError
from digest.send.delivery_loop import SendReport
from digest.store import Engine
from digest.store.job_runs import record_job_run

log = logging.getLogger("digest.service")


class _Stopping(Exception):
    """Raised from the progress hook between two messages once shutdown has begun: it is
    the one point where the loop has finished a message and not yet claimed the next."""


def handled(report: SendReport) -> int:
    """How many deliveries a run dealt with, whatever their outcome."""
    return (report.sent + report.retried + report.failed + report.suppressed + report.skipped
            + report.unknown)


def counts(report: SendReport) -> dict[str, int]:
    """A run's outcome counts, as recorded in ``job_runs``."""
    return {"sent": report.sent, "retried": report.retried, "failed": report.failed,
            "unknown": report.unknown, "suppressed": report.suppressed,
            "skipped": report.skipped}


class Sender:
    """Drains due deliveries on a timer (and when the deliver job asks), one drain at a time."""

    def __init__(self, delivery: Delivery, engine: Engine, clock: Callable[[], datetime], *,
                 owner: str | None = None) -> None:
        self.delivery = delivery
        self.engine = engine
        self.clock = clock
        self.owner = owner or worker_id()
        self.stopping = False
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._active: asyncio.Task[SendReport] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # the one ``run`` runs on

    def wake_threadsafe(self) -> None:
        """Have ``run`` drain now rather than at its next tick; callable from any thread
        (planning runs in a worker thread and calls it after each batch it commits). A
        wake during a drain makes ``run`` drain again right after it. No-op before
        ``run`` starts."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)

    def _check(self, _n: int) -> None:
        if self.stopping:
            raise _Stopping

    async def _deliver(self) -> SendReport:
        # Whatever an earlier drain of this process still holds (it stopped when the
        # database failed and could not give everything back) is ours to return now: one
        # drain at a time, so nothing of ours is in flight. Then this drain sends it.
        await asyncio.to_thread(self.delivery.release_held, self.owner, now=self.clock())
        try:
            return await self.delivery.deliver_async(clock=self.clock, owner=self.owner,
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
        """Drain every ``interval`` (or when woken: ``wake_threadsafe``) until stopped; a
        run that sent something is recorded."""
        self._loop = asyncio.get_running_loop()
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
                try:
                    record_job_run(self.engine, job="send", started_at=started,
                                   finished_at=self.clock(), counts=counts(report), error=error)
                except StoreError as exc:  # the database is down: the next drain retries
                    log.warning('{"event": "send_not_recorded", "error": "%s"}', exc)
            if error:
                log.error('{"event": "send_stopped", "error": "%s"}', error.replace('"', "'"))

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
        released = await asyncio.to_thread(self.delivery.release_held, self.owner,
                                           now=self.clock())
        if released:
            log.info('{"event": "released", "deliveries": %d}', released)
        return released

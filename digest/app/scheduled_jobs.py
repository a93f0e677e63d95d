"""Use case: the service's scheduled jobs — fetch feeds, plan and send due editions,
housekeeping — each run recorded as one ``job_runs`` row and one JSON log line.

Each job has a plain body (``run_fetch`` ...) that takes ``now``, so tests drive it with any
clock, and an async entry point (``fetch_job`` ...) that the scheduler calls.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from digest.app.sender import Sender, counts
from digest.app.status import job_intervals
from digest.config import ScheduleSettings
from digest.errors import DigestError, StoreError
from digest.schedule.threads import in_daemon_thread
from digest.store import Engine
from digest.store.history import expire_pending
from digest.store.job_runs import record_job_run
from digest.store.profile_vectors import prune_profile_vectors

if TYPE_CHECKING:  # only types here: the service runs fetch and plan in a child process
    from digest.app.fetch import Fetcher
    from digest.app.plan import Planner, Progress

log = logging.getLogger("digest.service")
# A stored profile vector read by no edition for this long belongs to interests nobody has
# any more (or to a reader who left); a monthly reader's is read every month.
PROFILE_VECTORS_UNUSED = timedelta(days=90)

Job = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ScheduledJobs:
    """The jobs over their parts; ``sender`` is this process's send loop."""

    engine: Engine
    fetcher: Fetcher
    planner: Planner
    sender: Sender
    schedule: ScheduleSettings
    outbox_dir: Path
    clock: Callable[[], datetime]

    def run_fetch(self, *, now: datetime) -> dict[str, Any]:
        """Fetch every configured feed; counts of feeds, errors, new and updated papers."""
        results = self.fetcher.fetch(now=now)
        return {"feeds": len(results), "errors": sum(r.status == "error" for r in results),
                "new": sum(r.new for r in results), "updated": sum(r.updated for r in results)}

    def run_plan(self, *, now: datetime, on_progress: Progress | None = None) -> dict[str, Any]:
        """Plan the editions whose local delivery time has passed (``on_progress(done,
        total)`` after each batch, as ``Planner.plan``)."""
        report = self.planner.plan(now=now, scheduled=True, too_late=self.schedule.too_late,
                                   first_at_once=self.schedule.first_edition == "at_once",
                                   on_progress=on_progress)
        return {"planned": report.planned, "skipped_late": report.skipped_late,
                "skipped_quiet": report.skipped_quiet, "nothing_new": report.nothing_new,
                "already": report.already, "waiting": report.waiting}

    def run_housekeeping(self, *, now: datetime) -> dict[str, Any]:
        """Forget sign-ups never confirmed in time, outbox files past their retention and
        profile vectors no edition has read for PROFILE_VECTORS_UNUSED (changed interests)."""
        expired = expire_pending(
            self.engine, created_before=now - timedelta(days=self.schedule.unconfirmed_expiry_days))
        cutoff = (now - timedelta(days=self.schedule.outbox_retention_days)).timestamp()
        pruned = 0
        if self.outbox_dir.is_dir():
            for path in self.outbox_dir.iterdir():
                if path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink(missing_ok=True)
                    pruned += 1
        vectors = prune_profile_vectors(self.engine, unused_since=now - PROFILE_VECTORS_UNUSED)
        return {"expired_signups": expired, "pruned_outbox_files": pruned,
                "pruned_profile_vectors": vectors}

    async def _recorded(self, job: str, body: Callable[[datetime], Awaitable[dict[str, Any]]]) -> None:
        if self.sender.stopping:
            return
        started = self.clock()
        error: str | None = None
        try:
            found = await body(started)
        except asyncio.CancelledError:  # the scheduler is shutting down; the ledger keeps state
            log.info('{"event": "job_interrupted", "job": "%s"}', job)
            return
        except DigestError as exc:  # a failure digest names (a stopped send): one line
            found, error = {}, f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # one failed run is recorded; the schedule goes on
            log.exception("job %s failed", job)
            found, error = {}, f"{type(exc).__name__}: {exc}"
        try:
            await in_daemon_thread(lambda: record_job_run(
                self.engine, job=job, started_at=started, finished_at=self.clock(),
                counts=found, error=error))
        except asyncio.CancelledError:  # stopped while recording: the thread still writes it
            log.info('{"event": "job_interrupted", "job": "%s"}', job)
        except StoreError as exc:  # the database is down: said once; the next run retries
            log.warning('{"event": "job_not_recorded", "job": "%s", "error": "%s"}', job,
                        str(exc).replace('"', "'"))

    async def fetch_job(self) -> None:
        """The fetch job, as the scheduler runs it."""
        await self._recorded("fetch", lambda now: in_daemon_thread(
            lambda: self.run_fetch(now=now)))

    async def deliver_job(self) -> None:
        """Plan what is due, waking this process's send loop after each planned batch (the
        first messages leave before the last batch is ranked; the loop records its own
        ``send`` runs), then drain what is left: these counts are that last drain's."""
        def batch_planned(done: int, _total: int) -> None:
            if done:
                self.sender.wake_threadsafe()

        async def body(now: datetime) -> dict[str, Any]:
            planned = await in_daemon_thread(
                lambda: self.run_plan(now=now, on_progress=batch_planned))
            sent = await self.sender.drain()
            return {**planned, **counts(sent)}

        await self._recorded("deliver", body)

    async def housekeeping_job(self) -> None:
        """The housekeeping job, as the scheduler runs it."""
        await self._recorded("housekeeping", lambda now: in_daemon_thread(
            lambda: self.run_housekeeping(now=now)))

    def table(self) -> dict[str, tuple[Job, timedelta]]:
        """``name -> (job, interval)``, what the leader's scheduler runs."""
        intervals = job_intervals(self.schedule)
        return {"fetch": (self.fetch_job, intervals["fetch"]),
                "deliver": (self.deliver_job, intervals["deliver"]),
                "housekeeping": (self.housekeeping_job, intervals["housekeeping"])}

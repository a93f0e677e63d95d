"""The leader's AsyncIOScheduler: the jobs the composition root hands it, kept in memory
(every new leader adds them again), coalesced, one instance at a time, with a misfire grace
so a late wake-up still runs once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

Job = Callable[[], Awaitable[None]]


def build_scheduler(jobs: Mapping[str, tuple[Job, timedelta]], *, misfire_grace: timedelta,
                    now: datetime) -> AsyncIOScheduler:
    """A scheduler (not started) running each ``name -> (job, interval)`` once at ``now`` and
    then every interval: a new leader catches up at once instead of waiting a whole
    interval. ``misfire_grace`` (at least 1 s) is how late a run may still start."""
    scheduler = AsyncIOScheduler(
        job_defaults={"coalesce": True, "max_instances": 1,
                      "misfire_grace_time": max(1, int(misfire_grace.total_seconds()))},
        timezone=UTC,
    )
    for name, (job, interval) in jobs.items():
        scheduler.add_job(job, "interval", id=name, name=name,
                          seconds=interval.total_seconds(), next_run_time=now)
    return scheduler

"""Build the leader's AsyncIOScheduler: jobs persisted in the main database, coalesced,
one instance at a time, with a misfire grace so a late wake-up still runs once."""

from __future__ import annotations

from datetime import UTC, datetime

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import Column, Engine, Float, MetaData, String, Table, select
from sqlalchemy.exc import SQLAlchemyError

from digest.config import ScheduleSettings

JOBS_TABLE = "apscheduler_jobs"
JOB_IDS = ("fetch", "deliver", "housekeeping")


def build_scheduler(engine: Engine, schedule: ScheduleSettings, *, now: datetime) -> AsyncIOScheduler:
    """A scheduler (not started) whose jobs all run once at ``now`` and then on their interval:
    a new leader catches up at once instead of waiting a whole fetch interval."""
    scheduler = AsyncIOScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename=JOBS_TABLE)},
        job_defaults={"coalesce": True, "max_instances": 1,
                      "misfire_grace_time": max(1, int(schedule.misfire_grace.total_seconds()))},
        timezone=UTC,
    )
    intervals = {"fetch": schedule.fetch_interval, "deliver": schedule.deliver_interval,
                 "housekeeping": schedule.housekeeping_interval}
    for job_id, interval in intervals.items():
        scheduler.add_job(f"digest.schedule.jobs:{job_id}_job", "interval", id=job_id,
                          name=job_id, seconds=interval.total_seconds(), next_run_time=now,
                          replace_existing=True)
    return scheduler


def next_runs(engine: Engine) -> dict[str, datetime | None]:
    """Next run time of each persisted job (empty before the first leader has started)."""
    table = Table(JOBS_TABLE, MetaData(), Column("id", String(191)),
                  Column("next_run_time", Float))
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(table.c.id, table.c.next_run_time)).all()
    except SQLAlchemyError:  # the table appears with the first leader
        return {}
    return {job_id: datetime.fromtimestamp(t, UTC) if t is not None else None
            for job_id, t in rows}

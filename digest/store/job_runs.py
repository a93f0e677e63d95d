"""Job runs (fetch, deliver, send, housekeeping): one ``job_runs`` row and one JSON log line
each, so ``digest status`` and the log tell the same story."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from digest.store.guard import reading, writing
from digest.store.schema import job_runs

log = logging.getLogger("digest.jobs")


@dataclass(frozen=True, slots=True)
class JobRun:
    job: str
    started_at: datetime
    finished_at: datetime | None
    ok: bool
    counts: dict[str, Any]
    error: str | None


def record_job_run(engine: Engine, *, job: str, started_at: datetime, finished_at: datetime,
                   counts: dict[str, Any], error: str | None = None) -> None:
    """Store the run and log it as one structured line (``event=job_run``)."""
    ok = error is None
    line = {"event": "job_run", "job": job, "ok": ok, "started_at": started_at.isoformat(),
            "seconds": round((finished_at - started_at).total_seconds(), 3), **counts}
    if error:
        line["error"] = error
    log.log(logging.INFO if ok else logging.ERROR, json.dumps(line, default=str))
    with writing(engine) as conn:
        conn.execute(job_runs.insert().values(
            job=job, started_at=started_at, finished_at=finished_at, ok=int(ok),
            counts=counts, error=error[:2000] if error else None))


def _row(r: Any) -> JobRun:
    return JobRun(job=r.job, started_at=r.started_at, finished_at=r.finished_at, ok=bool(r.ok),
                  counts=dict(r.counts or {}), error=r.error)


def last_runs(engine: Engine) -> dict[str, JobRun]:
    """The newest run of each job."""
    out: dict[str, JobRun] = {}
    query = select(job_runs).order_by(job_runs.c.id.desc()).limit(500)
    with reading(engine) as conn:
        for r in conn.execute(query):
            out.setdefault(r.job, _row(r))
    return out


def recent_failures(engine: Engine, *, limit: int = 5) -> list[JobRun]:
    query = select(job_runs).where(job_runs.c.ok == 0).order_by(job_runs.c.id.desc()).limit(limit)
    with reading(engine) as conn:
        return [_row(r) for r in conn.execute(query)]


def list_runs(engine: Engine, *, job: str | None = None) -> list[JobRun]:
    query = select(job_runs).order_by(job_runs.c.id)
    if job is not None:
        query = query.where(job_runs.c.job == job)
    with reading(engine) as conn:
        return [_row(r) for r in conn.execute(query)]

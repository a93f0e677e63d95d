"""The scheduled jobs: fetch feeds, plan and send due editions, housekeeping.

Each job has a plain body (``run_fetch`` ...) that takes the runtime and ``now``, so tests
drive it with any clock, and an APScheduler entry point (``fetch_job`` ...) that the job
store can persist by reference: persisted jobs cannot carry a Runtime, so the entry points
find it in the context the service binds at start.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from digest.pipeline import fetch, plan
from digest.runtime import Runtime
from digest.schedule.sender import Sender, counts
from digest.store.history import expire_pending
from digest.store.jobs import record_job_run

log = logging.getLogger("digest.service")
T = TypeVar("T")


@dataclass
class JobContext:
    rt: Runtime
    clock: Callable[[], datetime]
    sender: Sender


_context: JobContext | None = None


def bind(context: JobContext | None) -> None:
    global _context
    _context = context


def run_fetch(rt: Runtime, *, now: datetime) -> dict[str, Any]:
    results = fetch(rt, now=now)
    return {"feeds": len(results), "errors": sum(r.status == "error" for r in results),
            "new": sum(r.new for r in results), "updated": sum(r.updated for r in results)}


def run_plan(rt: Runtime, *, now: datetime) -> dict[str, Any]:
    schedule = rt.settings.schedule
    report = plan(rt, now=now, scheduled=True, too_late=schedule.too_late,
                  first_at_once=schedule.first_edition == "at_once")
    return {"planned": report.planned, "skipped_late": report.skipped_late,
            "skipped_quiet": report.skipped_quiet, "nothing_new": report.nothing_new,
            "already": report.already, "waiting": report.waiting}


def run_housekeeping(rt: Runtime, *, now: datetime) -> dict[str, Any]:
    schedule = rt.settings.schedule
    expired = expire_pending(rt.engine,
                             created_before=now - timedelta(days=schedule.unconfirmed_expiry_days))
    cutoff = (now - timedelta(days=schedule.outbox_retention_days)).timestamp()
    pruned = 0
    outbox = rt.settings.outbox_dir
    if outbox.is_dir():
        for path in outbox.iterdir():
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                pruned += 1
    return {"expired_signups": expired, "pruned_outbox_files": pruned}


async def in_daemon_thread(fn: Callable[[], T]) -> T:
    """Run blocking work off the loop in a daemon thread: unlike the default executor, a
    shutdown never waits for it (the ledger makes an interrupted plan or fetch harmless)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def work() -> None:
        try:
            result = fn()
        except BaseException as exc:
            loop.call_soon_threadsafe(_settle, future, None, exc)
        else:
            loop.call_soon_threadsafe(_settle, future, result, None)

    threading.Thread(target=work, daemon=True, name="digest-job").start()
    return await future


def _settle(future: asyncio.Future[Any], result: Any, exc: BaseException | None) -> None:
    if future.done():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)


async def _recorded(job: str, body: Callable[[JobContext, datetime], Any]) -> None:
    ctx = _context
    if ctx is None or ctx.sender.stopping:
        return
    started = ctx.clock()
    error: str | None = None
    try:
        found = await body(ctx, started)
    except asyncio.CancelledError:  # the scheduler is shutting down; the ledger keeps state
        log.info('{"event": "job_interrupted", "job": "%s"}', job)
        return
    except Exception as exc:  # one failed run is recorded; the schedule goes on
        log.exception("job %s failed", job)
        found, error = {}, f"{type(exc).__name__}: {exc}"
    await in_daemon_thread(lambda: record_job_run(ctx.rt.engine, job=job, started_at=started,
                                                  finished_at=ctx.clock(), counts=found,
                                                  error=error))


async def _fetch(ctx: JobContext, now: datetime) -> dict[str, Any]:
    return await in_daemon_thread(lambda: run_fetch(ctx.rt, now=now))


async def _deliver(ctx: JobContext, now: datetime) -> dict[str, Any]:
    planned = await in_daemon_thread(lambda: run_plan(ctx.rt, now=now))
    sent = await ctx.sender.drain()
    return {**planned, **counts(sent)}


async def _housekeeping(ctx: JobContext, now: datetime) -> dict[str, Any]:
    return await in_daemon_thread(lambda: run_housekeeping(ctx.rt, now=now))


async def fetch_job() -> None:
    await _recorded("fetch", _fetch)


async def deliver_job() -> None:
    await _recorded("deliver", _deliver)


async def housekeeping_job() -> None:
    await _recorded("housekeeping", _housekeeping)

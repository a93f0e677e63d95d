"""Use case: what the service is doing — feeds, schedule, deliveries, recent errors.

Everything is read from the database without taking a write lock, so it tells the truth
about every node at once and answers while a send is writing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from digest.config import ScheduleSettings
from digest.send.owners import holder_state
from digest.store import Engine
from digest.store.db import ping
from digest.store.feedstate import list_feed_states
from digest.store.job_runs import last_runs, recent_failures
from digest.store.leader_lock import leader_present
from digest.store.leases import lease_holders
from digest.store.ledger import counts_by_state, recent_delivery_errors
from digest.store.progress import EditionProgress, edition_progress
from digest.store.returns import inbound_counts, returns_by_edition
from digest.store.suppressions import suppression_counts

JOBS = ("fetch", "deliver", "housekeeping")  # the scheduled jobs, in the order they run
INBOUND_DAYS = 30  # inbound requests are counted over this many days
# The send rate is what the ledger says was sent over this many minutes: long enough to
# smooth the pacing's bursts (DIGEST_SMTP__RATE_PER_SECOND), short enough to follow a
# stalled or resumed send.
RATE_MINUTES = 5


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def job_intervals(schedule: ScheduleSettings) -> dict[str, timedelta]:
    """How often each scheduled job runs (DIGEST_SCHEDULE__*_INTERVAL)."""
    return {"fetch": schedule.fetch_interval, "deliver": schedule.deliver_interval,
            "housekeeping": schedule.housekeeping_interval}


def progress_figures(p: EditionProgress) -> dict[str, Any]:
    """One edition's progress as JSON-ready data: the ledger's counts (store.progress),
    ``rate_per_minute`` (messages sent per minute over the last ``rate_minutes``, that is
    ``RATE_MINUTES``)
    and ``minutes_left`` (due + retrying + in flight at that rate; None when finished or
    nothing was sent lately). Rows planning has yet to add are not counted."""
    rate = p.sent_recently / RATE_MINUTES
    left = p.due + p.retrying + p.in_flight
    return {"edition": p.edition, "finished": p.finished, "planned": p.planned, "sent": p.sent,
            "due": p.due, "retrying": p.retrying, "in_flight": p.in_flight, "failed": p.failed,
            "bounced": p.bounced, "suppressed": p.suppressed, "skipped": p.skipped,
            "outcome unknown": p.unknown, "rate_per_minute": rate, "rate_minutes": RATE_MINUTES,
            "minutes_left": left / rate if left and rate else None}


@dataclass(frozen=True, slots=True)
class Status:
    """Reads the service's state from the store; ``schedule`` gives the job intervals."""

    engine: Engine
    schedule: ScheduleSettings

    def healthy(self) -> bool:
        """Whether the database answers (``/healthz``); never raises."""
        return ping(self.engine)

    def collect(self) -> dict[str, Any]:
        """The status as JSON-ready data: leader, feeds, next and last job runs, delivery
        counts by state (``outcome unknown``: no reply came to the end of DATA), suppressed
        addresses by reason, the rows each sender holds now and until when (``holder``:
        this-process, alive, dead — taken back by the next send on this machine — or
        elsewhere), the latest job and delivery errors, what came back for the last
        editions (bounces by fault, delays, complaints) and the inbound mail of the last
        ``INBOUND_DAYS`` days by kind, and each edition still being delivered (and the
        last finished one) with its progress (``progress_figures``). Raises StoreError."""
        states = counts_by_state(self.engine)
        now = datetime.now(UTC)
        leader = leader_present(self.engine)
        runs = last_runs(self.engine)
        intervals = job_intervals(self.schedule)
        # Jobs live in the leader's memory: the next run is the last one plus the interval
        # while a leader runs (a new leader runs every job at once).
        next_runs = {job: _iso(runs[job].started_at + intervals[job])
                     if leader and job in runs else None for job in JOBS}
        return {
            "leader": leader,
            "feeds": [{"name": f.name, "url": f.url, "last_fetched_at": _iso(f.last_fetched_at),
                       "status": f.last_status, "entries": f.last_entries, "error": f.last_error,
                       "consecutive_failures": f.consecutive_failures}
                      for f in list_feed_states(self.engine)],
            "next_runs": next_runs,
            "last_runs": {job: {"at": _iso(run.started_at), "ok": run.ok, "counts": run.counts,
                                "error": run.error}
                          for job, run in sorted(runs.items())},
            "deliveries": {"pending": states.get("pending", 0),
                           "sending": states.get("sending", 0),
                           "retrying": states.get("retry", 0), "failed": states.get("failed", 0),
                           "sent": states.get("sent", 0),
                           "outcome unknown": states.get("unknown", 0),
                           "skipped": states.get("skipped", 0),
                           "suppressed": states.get("suppressed", 0)},
            "editions": [progress_figures(p) for p in edition_progress(
                self.engine, now=now, since=now - timedelta(minutes=RATE_MINUTES))],
            "suppressions": suppression_counts(self.engine),
            "held": [{"owner": h.owner, "rows": h.rows, "until": _iso(h.until),
                      "holder": holder_state(h.owner)}
                     for h in lease_holders(self.engine, now=datetime.now(UTC))],
            "job_errors": [{"job": r.job, "at": _iso(r.started_at), "error": r.error}
                           for r in recent_failures(self.engine)],
            "delivery_errors": [{"state": e.state, "subscriber": e.subscriber, "error": e.error,
                                 "at": _iso(e.at)} for e in recent_delivery_errors(self.engine)],
            "returns": [{"edition": r.edition, "sent": r.sent, "bounces": r.bounces,
                         "delays": r.delays, "complaints": r.complaints}
                        for r in returns_by_edition(self.engine)],
            "inbound": inbound_counts(self.engine,
                                      since=datetime.now(UTC) - timedelta(days=INBOUND_DAYS)),
        }

"""``digest status``: what the service is doing — feeds, schedule, deliveries, recent errors.

Everything is read from the database, so it tells the truth about every node at once.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import typer
from rich.table import Table
from sqlalchemy import Engine, select

from digest.cli.common import console, runtime
from digest.schedule.leader import leader_present
from digest.schedule.scheduler import next_runs
from digest.store.feedstate import list_feed_states
from digest.store.jobs import last_runs, recent_failures
from digest.store.ledger import counts_by_state
from digest.store.schema import deliveries, subscribers


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def _delivery_errors(engine: Engine, limit: int = 5) -> list[dict[str, Any]]:
    query = (select(deliveries.c.state, deliveries.c.last_error, deliveries.c.updated_at,
                    subscribers.c.email)
             .join(subscribers, subscribers.c.id == deliveries.c.subscriber_id)
             .where(deliveries.c.state.in_(("retry", "failed")),
                    deliveries.c.last_error.is_not(None))
             .order_by(deliveries.c.updated_at.desc()).limit(limit))
    with engine.connect() as conn:
        return [{"state": r.state, "subscriber": r.email, "error": r.last_error,
                 "at": _iso(r.updated_at)} for r in conn.execute(query)]


def collect_status(engine: Engine) -> dict[str, Any]:
    states = counts_by_state(engine)
    return {
        "leader": leader_present(engine),
        "feeds": [{"name": f.name, "url": f.url, "last_fetched_at": _iso(f.last_fetched_at),
                   "status": f.last_status, "entries": f.last_entries, "error": f.last_error,
                   "consecutive_failures": f.consecutive_failures}
                  for f in list_feed_states(engine)],
        "next_runs": {job: _iso(at) for job, at in sorted(next_runs(engine).items())},
        "last_runs": {job: {"at": _iso(run.started_at), "ok": run.ok, "counts": run.counts,
                            "error": run.error}
                      for job, run in sorted(last_runs(engine).items())},
        "deliveries": {"pending": states.get("pending", 0), "sending": states.get("sending", 0),
                       "retrying": states.get("retry", 0), "failed": states.get("failed", 0),
                       "sent": states.get("sent", 0), "skipped": states.get("skipped", 0),
                       "suppressed": states.get("suppressed", 0)},
        "job_errors": [{"job": r.job, "at": _iso(r.started_at), "error": r.error}
                       for r in recent_failures(engine)],
        "delivery_errors": _delivery_errors(engine),
    }


def _print(status: dict[str, Any]) -> None:
    leader = {True: "[green]running[/]", False: "[yellow]no scheduler running[/]",
              None: "unknown"}[status["leader"]]
    console.print(f"scheduler: {leader}")
    feeds = Table(title="feeds")
    for column in ("feed", "last fetch", "status", "entries", "error"):
        feeds.add_column(column)
    for f in status["feeds"]:
        feeds.add_row(f["name"], f["last_fetched_at"] or "never", f["status"] or "",
                      str(f["entries"] if f["entries"] is not None else ""), f["error"] or "")
    console.print(feeds if status["feeds"] else "feeds: never fetched")
    jobs = Table(title="jobs")
    for column in ("job", "next run", "last run", "ok", "counts"):
        jobs.add_column(column)
    names = sorted(set(status["next_runs"]) | set(status["last_runs"]))
    for name in names:
        last = status["last_runs"].get(name, {})
        counts = ", ".join(f"{k} {v}" for k, v in last.get("counts", {}).items())
        jobs.add_row(name, status["next_runs"].get(name) or "-", last.get("at") or "never",
                     {True: "yes", False: "[red]no"}.get(last.get("ok"), ""), counts)
    console.print(jobs if names else "jobs: the scheduler has not run yet (digest run)")
    d = status["deliveries"]
    console.print("deliveries: " + ", ".join(f"{k} {v}" for k, v in d.items()))
    for e in status["job_errors"]:
        console.print(f"[red]job {e['job']} failed[/] at {e['at']}: {e['error']}", highlight=False)
    for e in status["delivery_errors"]:
        console.print(f"[red]{e['state']}[/] {e['subscriber']} at {e['at']}: {e['error']}",
                      highlight=False)


def status_command(as_json: bool = typer.Option(False, "--json", help="Machine-readable.")) -> None:
    """Show feeds, the schedule, delivery counts and the latest errors."""
    with runtime() as rt:
        status = collect_status(rt.engine)
    if as_json:
        print(json.dumps(status, indent=2))
    else:
        _print(status)


def register(app: typer.Typer) -> None:
    app.command("status")(status_command)

"""``digest status``: what the service is doing — feeds, schedule, deliveries, recent errors
(read by the status use case, without taking a write lock)."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from digest.cli.common import console, literal, runtime, warn

HOLDER_NOTES = {
    "this-process": "this process",
    "alive": "a running process on this machine",
    "dead": "its process is gone: the next send on this machine takes them back at once",
    "elsewhere": "another machine or container: they come back when the lease ends",
}


def held_lines(held: list[dict[str, Any]]) -> list[str]:
    """One line per sender holding deliveries now: how many, until when, and what it is."""
    return [f"held: {h['rows']} deliveries by sender {h['owner']} until {h['until']} "
            f"({HOLDER_NOTES.get(h['holder'], h['holder'])})" for h in held]


def returns_lines(status: dict[str, Any]) -> list[str]:
    """What came back: one line per recent edition (bounces by who is at fault, delays,
    complaints), then the inbound mail of the last days by kind."""
    lines = []
    for r in status.get("returns", []):
        bounces = ", ".join(f"{n} {fault}" for fault, n in sorted(r["bounces"].items()))
        lines.append(f"came back for {r['edition']} ({r['sent']} sent): bounces "
                     f"{sum(r['bounces'].values())}{f' ({bounces})' if bounces else ''}, "
                     f"delays {r['delays']}, complaints {r['complaints']}")
    inbound = status.get("inbound", {})
    lines.append("inbound mail, last 30 days: " + (", ".join(
        f"{kind} {n}" for kind, n in sorted(inbound.items())) or "none"))
    return lines


def edition_lines(editions: list[dict[str, Any]]) -> list[str]:
    """One line per edition being delivered (and the last finished one): the ledger's
    counts, then the send rate over the last minutes and the time left at that rate."""
    lines = []
    for e in editions:
        minutes = e["rate_minutes"]
        counts = [f"{e['planned']} planned", f"{e['sent']} sent", f"{e['due']} due",
                  f"{e['retrying']} retrying", f"{e['in_flight']} in flight",
                  f"{e['failed']} failed", f"{e['bounced']} bounced"]
        counts += [f"{e[k]} {k}" for k in ("suppressed", "skipped", "outcome unknown") if e[k]]
        line = f"edition {e['edition']}{' (finished)' if e['finished'] else ''}: " \
               + ", ".join(counts)
        if not e["finished"]:
            line += (f"; {e['rate_per_minute']:.1f} sent/min over the last {minutes} min"
                     if e["rate_per_minute"] else f"; nothing sent in the last {minutes} min")
            if e["minutes_left"] is not None:
                line += f", about {max(1, round(e['minutes_left']))} min left"
        lines.append(line)
    return lines


def _print(status: dict[str, Any]) -> None:
    leader = {True: "[green]running[/]", False: "[yellow]no scheduler running[/]",
              None: "unknown"}[status["leader"]]
    console.print(f"scheduler: {leader}")
    feeds = Table(title="feeds")
    for column in ("feed", "last fetch", "status", "entries", "error"):
        feeds.add_column(column)
    for f in status["feeds"]:
        feeds.add_row(literal(f["name"]), f["last_fetched_at"] or "never",
                      literal(f["status"]),
                      str(f["entries"] if f["entries"] is not None else ""), literal(f["error"]))
    console.print(feeds if status["feeds"] else "feeds: never fetched")
    jobs = Table(title="jobs")
    for column in ("job", "next run", "last run", "ok", "counts"):
        jobs.add_column(column)
    names = sorted(set(status["next_runs"]) | set(status["last_runs"]))
    for name in names:
        last = status["last_runs"].get(name, {})
        counts = ", ".join(f"{k} {v}" for k, v in last.get("counts", {}).items())
        jobs.add_row(literal(name), status["next_runs"].get(name) or "-",
                     last.get("at") or "never",
                     {True: "yes", False: "[red]no"}.get(last.get("ok"), ""), literal(counts))
    console.print(jobs if names else "jobs: the scheduler has not run yet (digest run)")
    d = status["deliveries"]
    console.print("deliveries: " + ", ".join(f"{k} {v}" for k, v in d.items()))
    for line in edition_lines(status.get("editions", [])):
        console.print(literal(line), highlight=False)
    reasons = status["suppressions"]
    console.print(literal("suppressed addresses: " + (", ".join(
        f"{k} {v}" for k, v in sorted(reasons.items())) or "none")), highlight=False)
    for line in returns_lines(status):
        console.print(literal(line), highlight=False)
    for line in held_lines(status["held"]):
        console.print(literal(line), highlight=False)
    for e in status["job_errors"]:
        console.print(Text.assemble(literal(f"job {e['job']} failed", style="red"), " ",
                                    literal(f"at {e['at']}: {e['error']}")), highlight=False)
    for e in status["delivery_errors"]:
        console.print(Text.assemble(literal(e["state"], style="red"), " ",
                                    literal(f"{e['subscriber']} at {e['at']}: {e['error']}")),
                      highlight=False)


def status_command(as_json: bool = typer.Option(False, "--json", help="Machine-readable.")) -> None:
    """Show feeds, the schedule, delivery counts and the latest errors."""
    with runtime() as rt:
        settings = rt.settings
        sqlite = settings.sqlite_path()
        new_file = sqlite is not None and not sqlite.exists()
        status = rt.status.collect()
        status["database"] = settings.database_shown()
        status["outbox"] = (None if settings.delivers_by_smtp
                            else str(settings.outbox_dir.resolve()))
    if as_json:
        print(json.dumps(status, indent=2))
        return
    console.print(f"database: {status['database']}", highlight=False, markup=False)
    if new_file:
        warn(f"there was no database at {sqlite}: this created an empty one. Run digest from "
             "the folder that holds yours, or set DIGEST_DATABASE_URL")
    console.print("outbox: " + (f"{status['outbox']}/" if status["outbox"] else
                                f"not used (sending by SMTP to {settings.smtp.host})"),
                  highlight=False, markup=False)
    _print(status)


def register(app: typer.Typer) -> None:
    """Add the ``status`` command."""
    app.command("status")(status_command)

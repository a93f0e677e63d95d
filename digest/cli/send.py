"""``digest send``: deliver the current edition to every due subscriber who lacks it, and the
exit-code rule it shares with ``digest run --once``:

0 every delivery of the run went out, or nothing was due; 1 some delivery failed, waits for
a retry, has an unknown outcome, or the run stopped (a run of failures, the ledger lost);
2 the setup: every connection failed the same way, the server refuses us as a sender
(SPF/DKIM/DMARC, login), or the outbox cannot be written. A run stopped by the hourly cap
exits 0: the rest waits by design.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from digest.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    console,
    err_console,
    literal,
    plural,
    progress_bars,
    runtime,
    say_error,
    utcnow,
)
from digest.errors import SendAborted, SendMisconfigured

if TYPE_CHECKING:
    from digest.app.deliver import SendReport
    from digest.app.plan import PlanReport
    from digest.runtime import Runtime

Hook = Callable[[int, int], None]

COLUMNS = ("sent", "retried", "unknown", "suppressed", "skipped", "failed")


def send_table(report: SendReport, transport: str) -> Table:
    """One row of delivery counts (sent, retried, outcome unknown, suppressed, skipped,
    failed)."""
    table = Table(title=f"delivery ({transport})")
    for column in COLUMNS:
        table.add_column("outcome unknown" if column == "unknown" else column)
    table.add_row(*(str(getattr(report, column)) for column in COLUMNS))
    return table


def delivery_exit(report: SendReport) -> int:
    """The exit code of a run that was not stopped (see the module docstring)."""
    return EXIT_FAILED if report.failed or report.waiting or report.unknown else EXIT_OK


def stopped(exc: SendAborted, transport: str) -> int:
    """Print what a stopped run did and its one-line reason; returns the exit code."""
    partial: SendReport | None = getattr(exc, "report", None)
    if partial is not None:
        console.print(send_table(partial, transport))
    say_error("delivery stopped:", exc)
    return EXIT_USAGE if isinstance(exc, SendMisconfigured) else EXIT_FAILED


def notes(report: SendReport, *, nothing_due_hint: bool) -> None:
    """What else the operator should know: the distinct errors, bounces, rows taken back
    from a dead sender, rows other senders hold (and until when)."""
    for error in list(dict.fromkeys(report.errors))[:5]:  # the distinct ones, briefly
        err_console.print("  ", literal(error, style="yellow"), sep="", highlight=False)
    if report.bounced:
        console.print(f"{plural(report.bounced, 'hard bounce')}: counted towards "
                      "suppression of those subscribers "
                      "(DIGEST_SMTP__HARD_BOUNCE_THRESHOLD)")
    if report.unknown:
        console.print(f"{plural(report.unknown, 'delivery', 'deliveries')} with an unknown "
                      "outcome: the server "
                      "got the whole message but its reply never came; each is sent at most "
                      "once more (DIGEST_SMTP__UNKNOWN_RETRY_SECONDS)")
    if report.reclaimed:
        console.print(f"took back {plural(report.reclaimed, 'delivery', 'deliveries')} at once "
                      "from a sender on "
                      "this machine that had died")
    if report.lease_lost:
        err_console.print(f"[yellow]{plural(report.lease_lost, 'outcome')} not recorded: another "
                          "worker took those rows over (lease expired)[/]")
    if report.deferred:
        console.print(literal("stopped early:", style="yellow"), literal(report.deferred),
                      highlight=False)
    for holder in report.others:
        until = holder.until.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        console.print(literal(f"{plural(holder.rows, 'delivery', 'deliveries')} held by another "
                              f"sender ({holder.owner}) until {until}"), highlight=False)
    handled = (report.sent + report.retried + report.failed + report.suppressed
               + report.skipped + report.unknown)
    if nothing_due_hint and not handled:
        console.print("nothing due now: " + ("other senders hold the rest (above)"
                                             if report.others else
                                             "everyone has this edition, or waits for a retry"))


def _check_only(rt: Runtime, only: str) -> str:
    """``--only`` must name an active subscriber who gets editions: else one line, exit 1
    (not "nothing due", which would read as success). Returns the address as stored."""
    found = [s for s in rt.subscribers.all() if s.email.lower() == only.strip().lower()]
    if not found:
        say_error("no such subscriber:", f"{only} (see `digest subscribers list`)")
        raise typer.Exit(EXIT_FAILED)
    sub = found[0]
    if sub.status != "active" or sub.frequency == "off":
        say_error("nothing to send:", f"{sub.email} is {sub.status} with frequency "
                                      f"{sub.frequency}: they get no editions")
        raise typer.Exit(EXIT_FAILED)
    return sub.email


def send_command(
    only: str = typer.Option(None, "--only", help="Only this subscriber's address."),
    limit: int = typer.Option(None, "--limit", min=1, help="Handle at most N deliveries."),
    dry_run: bool = typer.Option(False, "--dry-run",
                                 help="Write the messages to the outbox; send nothing."),
) -> None:
    """Plan this period's edition for due subscribers and send what is due.

    Exit 0 when everything due went out (or nothing was due), 1 when a delivery failed,
    waits for a retry or has an unknown outcome, 2 when the setup refuses every message.
    """
    with runtime(ready=True) as rt:
        if only is not None:
            only = _check_only(rt, only)
        transport = "outbox (dry run)" if dry_run else rt.transport_name
        try:
            planned, report = plan_and_send(rt, only=only, limit=limit, dry_run=dry_run)
        except SendAborted as exc:
            raise typer.Exit(stopped(exc, transport)) from None
        console.print(send_table(report, transport))
        notes(report, nothing_due_hint=True)
        if dry_run:
            # Planning is not dry: the rows it adds are what a real send would send.
            console.print(f"dry run: {plural(report.sent, 'message')} written to "
                          f"{rt.settings.outbox_dir}/, nothing sent; the ledger gained "
                          f"{plural(planned.planned, 'planned delivery', 'planned deliveries')}"
                          " (pending: the next `digest send` sends them)", highlight=False)
    raise typer.Exit(delivery_exit(report))


@contextmanager
def plan_send_bars() -> Iterator[tuple[Hook, Hook]]:
    """Two progress bars on stderr (only on a terminal), gone when the work ends: subscribers
    ranked, and deliveries handled out of those planned and due so far. Yields their
    ``(on_planned, on_sent)`` hooks, both ``(done, total)``. One rich display for both:
    rich allows one live display at a time, and the two run at once."""
    with progress_bars("ranking subscribers", "sending") as (ranking, sending):
        yield ranking, sending


def plan_and_send(rt: Runtime, *, now: datetime | None = None, only: str | None = None,
                  limit: int | None = None,
                  dry_run: bool = False) -> tuple[PlanReport, SendReport]:
    """Plan this period's edition and send what is due, the first messages leaving once the
    first batch is planned (``app.overlap``), under ``plan_send_bars``. A dry run plans
    everyone first, then writes what is due to the outbox (it claims nothing, so it could
    not run again over the same rows). ``now``: the planning time (default: the wall
    clock). Raises SendAborted/SendMisconfigured, StoreError."""
    from digest.app.overlap import plan_and_deliver

    now = now or utcnow()
    with plan_send_bars() as (on_planned, on_sent):
        if dry_run:
            planned = rt.planner.plan(now=now, only=only, on_progress=on_planned)
            total = rt.delivery.count_due(only=only)
            total = total if limit is None else min(total, limit)
            return planned, rt.delivery.deliver(limit=limit, only=only, dry_run=True,
                                                on_progress=lambda n: on_sent(n, total))
        return asyncio.run(plan_and_deliver(rt.planner, rt.delivery, now=now, only=only,
                                            limit=limit, on_progress=on_planned,
                                            on_sent=on_sent))


def register(app: typer.Typer) -> None:
    """Add the ``send`` command."""
    app.command("send")(send_command)

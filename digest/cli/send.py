"""``digest send``: deliver the current edition to every due subscriber who lacks it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from digest.cli.common import EXIT_FAILED, console, err_console, runtime, say_error, utcnow
from digest.errors import SendAborted

if TYPE_CHECKING:
    from digest.app.deliver import SendReport


def send_table(report: SendReport, transport: str) -> Table:
    """One row of delivery counts (sent, retried, suppressed, skipped, failed)."""
    table = Table(title=f"delivery ({transport})")
    for column in ("sent", "retried", "suppressed", "skipped", "failed"):
        table.add_column(column)
    table.add_row(str(report.sent), str(report.retried), str(report.suppressed),
                  str(report.skipped), str(report.failed))
    return table


def _notes(report: SendReport) -> None:
    for error in list(dict.fromkeys(report.errors))[:5]:  # the distinct ones, briefly
        err_console.print(f"  [yellow]{escape(error)}[/]", highlight=False)
    if report.bounced:
        console.print(f"{report.bounced} hard bounce(s): those subscribers were counted "
                      "towards suppression (DIGEST_SMTP__HARD_BOUNCE_THRESHOLD)")
    if report.lease_lost:
        err_console.print(f"[yellow]{report.lease_lost} outcome(s) not recorded: another "
                          "worker took those rows over (lease expired)[/]")
    if report.deferred:
        console.print(f"[yellow]stopped early:[/] {report.deferred}")


def send_command(
    only: str = typer.Option(None, "--only", help="Only this subscriber's address."),
    limit: int = typer.Option(None, "--limit", min=1, help="Handle at most N deliveries."),
    dry_run: bool = typer.Option(False, "--dry-run",
                                 help="Write the messages to the outbox; send nothing."),
) -> None:
    """Plan this period's edition for due subscribers and send what is due.

    Exit 1 when a delivery failed permanently in this run or the run was aborted.
    """
    with runtime() as rt:
        rt.planner.plan(now=utcnow(), only=only)
        total = rt.delivery.count_due(only=only)
        if limit is not None:
            total = min(total, limit)
        transport = "outbox (dry run)" if dry_run else rt.transport_name
        columns = (TextColumn("sending"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        try:
            with Progress(*columns, console=err_console, transient=True) as progress:
                task = progress.add_task("send", total=total or None)
                report = rt.delivery.deliver(
                    limit=limit, only=only, dry_run=dry_run,
                    on_progress=lambda n: progress.update(task, completed=n))
        except SendAborted as exc:
            partial: SendReport | None = getattr(exc, "report", None)
            if partial is not None:
                console.print(send_table(partial, transport))
            say_error("delivery stopped:", exc)
            raise typer.Exit(EXIT_FAILED) from None
        console.print(send_table(report, transport))
        if total == 0:
            console.print("nothing due: everyone has this edition, or waits for a retry")
        _notes(report)
        if dry_run:
            console.print(f"dry run: {report.sent} message(s) written to "
                          f"{rt.settings.outbox_dir}/; the ledger is unchanged")
    if report.failed:
        raise typer.Exit(EXIT_FAILED)


def register(app: typer.Typer) -> None:
    """Add the ``send`` command."""
    app.command("send")(send_command)

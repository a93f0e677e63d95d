"""``digest send``: deliver the current edition to every due subscriber."""

from __future__ import annotations

import typer
from rich.table import Table

from digest.cli.common import EXIT_FAILED, console, runtime, utcnow
from digest.pipeline import deliver, plan
from digest.send.deliver import SendReport


def send_table(report: SendReport, transport: str) -> Table:
    table = Table(title=f"delivery ({transport})")
    for column in ("sent", "retry later", "suppressed", "skipped", "failed"):
        table.add_column(column)
    table.add_row(str(report.sent), str(report.retried), str(report.suppressed),
                  str(report.skipped), str(report.failed))
    return table


def send_command(
    only: str = typer.Option(None, "--only", help="Only this subscriber's address."),
    limit: int = typer.Option(None, "--limit", min=1, help="Send at most N messages."),
) -> None:
    """Plan this period's edition for due subscribers and send what is due."""
    with runtime() as rt:
        plan(rt, now=utcnow(), only=only)
        report = deliver(rt, limit=limit)
        console.print(send_table(report, rt.transport().name))
    if report.failed:
        raise typer.Exit(EXIT_FAILED)


def register(app: typer.Typer) -> None:
    app.command("send")(send_command)

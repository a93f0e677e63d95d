"""``digest run --once``: the whole flow — sync profiles, fetch, rank, render, deliver."""

from __future__ import annotations

import typer
from rich.progress import Progress
from rich.table import Table

from digest.cli.common import EXIT_FAILED, EXIT_USAGE, console, err_console, runtime, utcnow
from digest.cli.fetch import feed_table
from digest.cli.send import send_table
from digest.errors import SendAborted
from digest.pipeline import deliver, fetch, plan
from digest.profiles import sync_profile_dir


def run_command(
    once: bool = typer.Option(False, "--once", help="Run the flow one time and exit."),
) -> None:
    """Run the flow once (--once); the long-running service comes with the scheduler."""
    if not once:
        err_console.print("the long-running service is not available yet: use `digest run --once`")
        raise typer.Exit(EXIT_USAGE)
    with runtime() as rt:
        now = utcnow()
        settings = rt.settings
        if settings.subscribers_dir.is_dir():
            synced = sync_profile_dir(rt.engine, settings.subscribers_dir, now=now)
            console.print(f"subscribers: {len(synced.created)} new, {len(synced.updated)} "
                          f"updated from {settings.subscribers_dir}/")
            for path, error in synced.errors:
                err_console.print(f"[red]{path}[/]: {error}", highlight=False)
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("fetching feeds", total=len(settings.feeds))
            feeds = fetch(rt, now=now, on_done=lambda _r: progress.advance(task))
        console.print(feed_table(feeds))
        planned = plan(rt, now=now)
        where = (f"SMTP {settings.smtp.host}:{settings.smtp.port}" if settings.delivers_by_smtp
                 else f"outbox {settings.outbox_dir.resolve()}/ (DIGEST_SMTP__HOST is not set)")
        console.print(f"delivering to {where}")
        try:
            with Progress(console=console, transient=True) as progress:
                task = progress.add_task("sending", total=planned.planned or None)
                report = deliver(rt, on_progress=lambda n: progress.update(task, completed=n))
        except SendAborted as exc:
            err_console.print(f"[bold red]delivery stopped:[/] {exc}", highlight=False)
            raise typer.Exit(EXIT_FAILED) from None
        table = Table(title="subscribers")
        table.add_column("subscriber")
        table.add_column("this run")
        for email, what in planned.per_subscriber.items():
            table.add_row(email, what)
        console.print(table)
        console.print(send_table(report, rt.transport().name))
        for error in dict.fromkeys(report.errors):  # each distinct reason once
            err_console.print(f"[red]delivery error:[/] {error}", highlight=False)
    # Exit 1 when any delivery did not go out in this run, even if it will be retried:
    # a dead SMTP server must not look like success.
    if report.failed or report.retried:
        raise typer.Exit(EXIT_FAILED)


def register(app: typer.Typer) -> None:
    app.command("run")(run_command)

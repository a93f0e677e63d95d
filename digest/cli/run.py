"""``digest run``: the service (web app + scheduler) until SIGTERM; ``digest run --once``:
the whole flow one time — sync profiles, fetch, rank, render, deliver — then exit.

``--once`` plans this calendar period's edition for every subscriber not yet served,
whatever their delivery hour (the operator asked for it now); the service honours the hour.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

import typer
from rich.progress import Progress
from rich.table import Table
from rich.text import Text

from digest.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    console,
    err_console,
    literal,
    refuse_busy_port,
    runtime,
    say_error,
    utcnow,
    warn,
)
from digest.cli.fetch import print_feeds
from digest.cli.send import delivery_exit, notes, plan_and_send, send_table, stopped
from digest.errors import SendAborted

if TYPE_CHECKING:
    from digest.runtime import Runtime


def _sync_profiles(rt: Runtime, now: datetime) -> None:
    settings = rt.settings
    if settings.subscribers_dir.is_dir():
        synced = rt.subscribers.sync(settings.subscribers_dir, now=now)
        console.print(literal(f"subscribers: {len(synced.created)} new, "
                              f"{len(synced.updated)} updated from {settings.subscribers_dir}/"),
                      highlight=False)
        for path, error in synced.errors:
            err_console.print(Text.assemble(literal(f"{path}:", style="red"), " ", literal(error)),
                              highlight=False)


def _serve(host: str | None, port: int | None) -> None:
    from digest.service import run_service
    from digest.web import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # digest logs one JSON line per job run; APScheduler's own per-run lines would double it.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    with runtime(ready=True) as rt:
        rt.rank_in_child = True  # pages' picks in a child: the web app stays light
        # The web app's own settings (DIGEST_WEB__HOST/PORT) are the defaults when present.
        web = getattr(rt.settings, "web", None)
        bind_host = host if host is not None else str(getattr(web, "host", "127.0.0.1"))
        bind_port = port if port is not None else int(getattr(web, "port", 8000))
        refuse_busy_port(bind_host, bind_port)
        _sync_profiles(rt, utcnow())
        schedule = rt.settings.schedule
        console.print(f"digest service on http://{bind_host}:{bind_port}/ — fetch every "
                      f"{schedule.fetch_interval}, deliver every {schedule.deliver_interval}; "
                      "SIGTERM or Ctrl-C stops it")
        code = run_service(rt, create_app(rt), host=bind_host, port=bind_port)
    raise typer.Exit(code)


def run_command(
    once: bool = typer.Option(False, "--once", help="Run the flow one time and exit."),
    host: str = typer.Option(None, "--host", help="Address the web app listens on "
                             "(default DIGEST_WEB__HOST, else 127.0.0.1)."),
    port: int = typer.Option(None, "--port", min=1, max=65535,
                             help="Port of the web app (default DIGEST_WEB__PORT, else 8000)."),
) -> None:
    """Run the service (web app + schedule) until stopped, or the flow once with --once."""
    if not once:
        _serve(host, port)
        return
    with runtime(ready=True) as rt:
        now = utcnow()
        settings = rt.settings
        _sync_profiles(rt, now)
        if not settings.feeds:
            warn("no feeds configured (DIGEST_FEEDS): only papers already stored can be sent")
        with Progress(console=console, transient=True,
                      disable=not console.is_terminal) as progress:
            task = progress.add_task("fetching feeds", total=len(settings.feeds))
            feeds = rt.fetcher.fetch(now=now, on_done=lambda _r: progress.advance(task))
        print_feeds(feeds)
        all_failed = bool(feeds) and all(r.status == "error" for r in feeds)
        if not any(s.status == "active" for s in rt.subscribers.all()):
            warn(f"no active subscribers: add profile files to {settings.subscribers_dir}/ "
                 "or use `digest subscribers add`")
        where = (f"SMTP {settings.smtp.host}:{settings.smtp.port}" if settings.delivers_by_smtp
                 else f"outbox {settings.outbox_dir.resolve()}/ (DIGEST_SMTP__HOST is not set)")
        console.print(literal(f"delivering to {where}"), highlight=False)
        try:
            # Delivery starts once the first batch is planned (app.overlap).
            planned, report = plan_and_send(rt, now=now)
        except SendAborted as exc:
            raise typer.Exit(stopped(exc, rt.transport_name)) from None
        table = Table(title="subscribers")
        table.add_column("subscriber")
        table.add_column("this run")
        for email, what in planned.per_subscriber.items():
            table.add_row(literal(email), literal(what))
        console.print(table)
        if planned.unlisted:
            console.print(f"(the first {len(planned.per_subscriber)} subscribers; "
                          "the counts below cover everyone)", highlight=False)
        console.print(send_table(report, rt.transport_name))
        notes(report, nothing_due_hint=False)
    # The same rule as `digest send` (cli/send.py): a dead SMTP server or a delivery left
    # waiting for a retry must not look like success; nor must a run where every feed failed.
    if all_failed:
        say_error("every feed failed:", "nothing new was fetched (reasons above)")
    raise typer.Exit(max(delivery_exit(report), EXIT_FAILED if all_failed else EXIT_OK))


def register(app: typer.Typer) -> None:
    """Add the ``run`` command."""
    app.command("run")(run_command)

"""``digest subscribers ...``: manage the list from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from digest.cli.common import EXIT_FAILED, console, err_console, runtime, utcnow
from digest.profiles import ProfileError, sync_profile_dir, validate_profile
from digest.store.subscribers import list_subscribers, upsert_subscriber

subscribers_app = typer.Typer(help="Manage subscribers.", no_args_is_help=True)


@subscribers_app.command("sync")
def sync_command(directory: Path = typer.Argument(..., help="Folder of *.toml profiles.")) -> None:
    """Create or update a subscriber for each profile file in DIRECTORY."""
    with runtime() as rt:
        report = sync_profile_dir(rt.engine, directory, now=utcnow())
    console.print(f"{len(report.created)} created, {len(report.updated)} updated, "
                  f"{len(report.errors)} invalid")
    for path, error in report.errors:
        err_console.print(f"[red]{path}[/]: {error}", highlight=False)
    if report.errors:
        raise typer.Exit(EXIT_FAILED)


@subscribers_app.command("add")
def add_command(
    email: str,
    interests: str = typer.Option(..., help="A few words about what you read."),
    frequency: str = typer.Option("weekly", help="daily, weekly or off."),
    confirmed: bool = typer.Option(False, help="Mark active without a confirmation email."),
) -> None:
    """Add (or update) one subscriber."""
    try:
        data = validate_profile({"email": email, "interests": interests, "frequency": frequency})
    except ProfileError as exc:
        err_console.print(f"[red]invalid:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    with runtime() as rt:
        sid, created = upsert_subscriber(rt.engine, data, now=utcnow(),
                                         status="active" if confirmed else "pending", origin="cli")
    console.print(f"{'added' if created else 'updated'} {data.email} (id {sid})")


@subscribers_app.command("list")
def list_command(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """List subscribers with their status."""
    with runtime() as rt:
        subs = list_subscribers(rt.engine)
    if as_json:
        rows = [{"id": s.id, "email": s.email, "name": s.name, "status": s.status,
                 "frequency": s.frequency, "timezone": s.timezone,
                 "interests": s.profile.interests} for s in subs]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"{len(subs)} subscribers")
    for column in ("id", "email", "status", "frequency", "interests"):
        table.add_column(column)
    for s in subs:
        table.add_row(str(s.id), s.email, s.status, s.frequency, s.profile.interests[:60])
    console.print(table)
    if not subs:
        raise typer.Exit(0)


def register(app: typer.Typer) -> None:
    app.add_typer(subscribers_app, name="subscribers")


__all__ = ["EXIT_FAILED", "register"]

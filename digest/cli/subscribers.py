"""``digest subscribers ...``: manage the list from the command line (add, list, import,
export, remove, unsuppress, sync)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from digest.cli.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    console,
    err_console,
    literal,
    runtime,
    say_error,
    utcnow,
)
from digest.errors import AddressError, SuppressedError
from digest.models import Subscriber
from digest.profiles import WEEKDAYS, ProfileError, validate_profile

subscribers_app = typer.Typer(help="Manage subscribers.", no_args_is_help=True)


@subscribers_app.command("sync")
def sync_command(
    directory: Annotated[Path, typer.Argument(help="Folder of *.toml profiles.")],
) -> None:
    """Create or update a subscriber for each profile file in DIRECTORY."""
    if not directory.is_dir():
        say_error("error:", f"{directory}: not a folder of profile files")
        raise typer.Exit(EXIT_USAGE)
    with runtime() as rt:
        report = rt.subscribers.sync(directory, now=utcnow())
    console.print(f"{len(report.created)} created, {len(report.updated)} updated, "
                  f"{len(report.errors)} invalid")
    for path, error in report.errors:
        err_console.print(Text.assemble(literal(f"{path}:", style="red"), " ", literal(error)),
                          highlight=False)
    if report.errors:
        raise typer.Exit(EXIT_FAILED)


@subscribers_app.command("add")
def add_command(
    email: str,
    interests: str = typer.Option(..., help="A few words about what you read."),
    frequency: str = typer.Option("weekly", help="daily, weekly or off."),
    confirmed: bool = typer.Option(False, help="Mark active without a confirmation email."),
) -> None:
    """Add (or update) one subscriber; without --confirmed they get a confirmation email."""
    try:
        data = validate_profile({"email": email, "interests": interests, "frequency": frequency})
    except ProfileError as exc:
        say_error("invalid:", exc)
        raise typer.Exit(EXIT_USAGE) from None
    with runtime(ready=True) as rt:
        for other in rt.subscribers.case_variants(data.email):
            err_console.print(literal(f"note: {data.email} is the subscriber {other} (only "
                                      "the letter case differs): that one is updated"),
                              highlight=False)
        if confirmed:
            try:
                sid, created, status = rt.subscribers.add_confirmed(data, now=utcnow())
            except SuppressedError as exc:
                say_error("refused:", f"{exc}; if they asked to come back, `digest subscribers "
                                      f"unsuppress {data.email}` lifts that first")
                raise typer.Exit(EXIT_FAILED) from None
            done = "added" if created else "updated"
            if status == "active":
                console.print(literal(f"{done} {data.email} (id {sid}, active)"), highlight=False)
                return
            why = {"bounced": f"its address hard-bounced; `digest subscribers unsuppress "
                              f"{data.email}` lifts that",
                   "unsubscribed": "they unsubscribed; only they can subscribe again"}
            say_error(f"{done} but not active:",
                      f"{data.email} (id {sid}) stays {status}: {why.get(status, status)}")
            raise typer.Exit(EXIT_FAILED)
        result = asyncio.run(rt.subscribers.add_pending(data, now=utcnow()))
    if result.reason == "suppressed":
        say_error("refused:", f"{data.email} asked to be removed and cannot be added again")
        raise typer.Exit(EXIT_FAILED)
    if result.reason == "recently_sent" and result.last_sent is not None:
        console.print(literal(
            f"{data.email} is pending (id {result.subscriber_id}); a confirmation email was "
            f"already sent at {result.last_sent:%Y-%m-%d %H:%M} UTC: no second one within "
            f"DIGEST_WEB__CONFIRM_RESEND seconds"), highlight=False)
        return
    if result.reason in ("active", "bounced"):
        console.print(literal(f"{data.email} is already {result.reason}; nothing sent"),
                      highlight=False)
        return
    console.print(literal(f"{data.email} is pending (id {result.subscriber_id}); confirmation "
                          f"email {'sent' if result.confirmation_sent else 'NOT sent'}"),
                  highlight=False)


def _record(s: Subscriber) -> dict[str, object]:
    return {"id": s.id, "email": s.email, "name": s.name, "status": s.status,
            "interests": s.profile.interests, "frequency": s.frequency,
            "weekday": WEEKDAYS[s.weekday], "hour": s.hour, "timezone": s.timezone,
            "papers_per_email": s.papers_per_email, "quiet_week": s.quiet_week,
            "seed_papers": list(s.profile.seed_papers), "liked": list(s.profile.liked),
            "disliked": list(s.profile.disliked)}


@subscribers_app.command("list")
def list_command(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """List subscribers with their status (pending, active, unsubscribed, bounced)."""
    with runtime() as rt:
        subs = rt.subscribers.all()
    if as_json:
        print(json.dumps([_record(s) for s in subs], ensure_ascii=False, indent=2))
        return
    table = Table(title=f"{len(subs)} subscribers")
    for column in ("id", "email", "status", "frequency", "interests"):
        table.add_column(column)
    for s in subs:
        table.add_row(str(s.id), literal(s.email), literal(s.status), literal(s.frequency),
                      literal(s.profile.interests, limit=60))
    console.print(table)


@subscribers_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="CSV: email,interests[,frequency,timezone,"
                                              "status,...] as `export` writes it")],
    activate: bool = typer.Option(False, "--activate",
                                  help="Make pending and unsubscribed rows active (you have "
                                       "their consent). Bounces and suppressions stay."),
) -> None:
    """Import subscribers from a CSV file, saying per row what it did; keeps each row's
    status (no status column: active) and restores suppressions. Bad rows are reported,
    the rest kept."""
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        say_error(f"cannot read {file}:", exc)
        raise typer.Exit(EXIT_USAGE) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    if "email" not in header or "interests" not in header:
        err_console.print(literal(f"{file}: the header must start with email,interests "
                                  f"(optional: frequency,timezone); got "
                                  f"{','.join(header) or 'nothing'}"), highlight=False)
        raise typer.Exit(EXIT_USAGE)
    reader.fieldnames = header

    def rows() -> Iterator[tuple[int, dict[Any, Any]]]:
        try:
            for row in reader:
                yield reader.line_num, row
        except csv.Error as exc:
            yield reader.line_num, {None: [], "error": f"unreadable CSV: {exc}"}

    with runtime() as rt:
        report = rt.subscribers.import_rows(rows(), now=utcnow(), activate=activate)
    from digest.app.consent import EXPORT_COLUMNS  # the store's imports only when used

    ignored = [h for h in header if h not in EXPORT_COLUMNS]
    for line, said in report.done:
        console.print(literal(f"{file}:{line}: {said}"), highlight=False)
    for line, warning in report.warnings:
        err_console.print(literal(f"{file}:{line}: warning: {warning}"), highlight=False)
    console.print(literal(f"{len(report.created)} created, {len(report.updated)} updated, "
                          f"{len(report.bad)} bad rows" + (
                              f" (ignored columns: {', '.join(ignored)})" if ignored else "")),
                  highlight=False)
    for line, reason in report.bad:
        err_console.print(literal(f"{file}:{line}: {reason}"), highlight=False)
    if report.bad:
        raise typer.Exit(EXIT_FAILED)


@subscribers_app.command("export")
def export_command(
    fmt: str = typer.Option("csv", "--format", help="csv (re-importable) or json (everything)."),
) -> None:
    """Write every subscriber to stdout: CSV with status, consent time and suppression
    (and the suppressions of deleted addresses, as hashes), re-importable as it is."""
    if fmt not in ("csv", "json"):
        err_console.print("--format: csv or json")
        raise typer.Exit(EXIT_USAGE)
    with runtime() as rt:
        subs = rt.subscribers.all()
        rows = rt.subscribers.export_rows() if fmt == "csv" else []
    if fmt == "json":
        print(json.dumps([_record(s) for s in subs], ensure_ascii=False, indent=2))
        return
    from digest.app.consent import EXPORT_COLUMNS  # the store's imports only when used

    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    writer.writerows(rows)


@subscribers_app.command("remove")
def remove_command(
    email: str,
    allow_return: bool = typer.Option(False, help="Do not keep the address hash: the address "
                                                  "may be added again later."),
) -> None:
    """Delete a subscriber and all their data; the address hash stays so it is never revived."""
    from digest.addresses import normalize_address

    try:
        address = normalize_address(email)
    except AddressError as exc:
        say_error("invalid:", exc)
        raise typer.Exit(EXIT_USAGE) from None
    with runtime() as rt:
        if not rt.subscribers.remove(address, now=utcnow(), keep_hash=not allow_return):
            err_console.print(literal(f"no subscriber {address}"), highlight=False)
            raise typer.Exit(EXIT_FAILED)
    console.print(literal(f"removed {address}" + ("" if allow_return else " (address hash "
                                                  "kept: it cannot be added again)")),
                  highlight=False)


@subscribers_app.command("unsuppress")
def unsuppress_command(email: str) -> None:
    """Lift the suppression of EMAIL (a hard bounce, a removal) and make a bounced
    subscriber active again. Says what it changed; exit 1 when there was nothing to lift."""
    from digest.addresses import normalize_address

    try:
        address = normalize_address(email)
    except AddressError as exc:
        say_error("invalid:", exc)
        raise typer.Exit(EXIT_USAGE) from None
    with runtime() as rt:
        lifted = rt.subscribers.unsuppress(address)
    if not lifted.changed:
        say_error("nothing to lift:", f"{address} is not suppressed and has no bounces")
        raise typer.Exit(EXIT_FAILED)
    parts = []
    if lifted.reason is not None:
        since = lifted.since.strftime("%Y-%m-%d %H:%M UTC") if lifted.since else "?"
        parts.append(f"lifted the suppression of {lifted.address} (reason: {lifted.reason}, "
                     f"since {since})")
    if lifted.subscriber_id is None:
        parts.append("no subscriber has this address: it may be added again")
    elif lifted.status_before == "bounced":
        parts.append(f"subscriber id {lifted.subscriber_id} is active again (was bounced; "
                     f"hard-bounce count reset from {lifted.bounces_before})")
    else:
        parts.append(f"subscriber id {lifted.subscriber_id} stays {lifted.status_before}; "
                     f"hard-bounce count reset from {lifted.bounces_before}")
    console.print(literal("; ".join(parts)), highlight=False)


def register(app: typer.Typer) -> None:
    """Add the ``subscribers`` command group."""
    app.add_typer(subscribers_app, name="subscribers")


__all__ = ["EXIT_FAILED", "register"]

"""``digest fetch``: pull the configured feeds (or the given ones) into the store."""

from __future__ import annotations

from collections.abc import Sequence

import typer
from rich.table import Table

from digest.cli.common import EXIT_FAILED, console, runtime, utcnow
from digest.feeds import FeedResult
from digest.pipeline import fetch


def feed_table(results: Sequence[FeedResult]) -> Table:
    table = Table(title="feeds")
    for column in ("feed", "status", "entries", "new", "updated", "unchanged", "error"):
        table.add_column(column)
    for r in results:
        status = {"ok": "[green]ok", "not_modified": "not modified"}.get(r.status, "[red]" + r.status)
        table.add_row(r.spec.name, status, str(r.entries), str(r.new), str(r.updated),
                      str(r.unchanged), r.error or "")
    return table


def fetch_command(
    feed: list[str] = typer.Option(None, "--feed", help="URL or path; repeatable. Default: DIGEST_FEEDS."),
) -> None:
    """Fetch feeds and store new papers."""
    with runtime() as rt:
        results = fetch(rt, now=utcnow(), urls=feed or None)
    console.print(feed_table(results))
    if results and all(r.status == "error" for r in results):
        raise typer.Exit(EXIT_FAILED)


def register(app: typer.Typer) -> None:
    app.command("fetch")(fetch_command)

"""``digest fetch``: pull the configured feeds (or the given ones) into the store, with a
progress bar per feed and a summary table; exit 1 only when every feed failed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn
from rich.table import Table

from digest.cli.common import EXIT_FAILED, console, literal, runtime, say_error, utcnow

if TYPE_CHECKING:
    from digest.app.fetch import FeedResult, FeedSpec
    from digest.runtime import Runtime

_STAGES = {"queued": 0, "fetching": 1, "parsing": 2, "storing": 3}
_DONE = 4


def feed_table(results: Sequence[FeedResult]) -> Table:
    """One row per feed: what it did (papers kept, of which new/updated/unchanged; arXiv
    replacements skipped; papers whose mojibake was repaired). Problems and notes are not a
    column: at 80 columns one would be cut off, so ``feed_notes`` gives them lines below."""
    table = Table(title="feeds")
    table.add_column("feed", overflow="fold", max_width=30)
    for column in ("kind", "status", "kept", "new", "updated", "unchanged", "replacements",
                   "repaired"):
        table.add_column(column, overflow="fold")
    for r in results:
        status = {"ok": "[green]ok", "not_modified": "not modified"}.get(r.status, "[red]failed")
        # Names and kinds come from feeds and servers: data, never markup.
        table.add_row(literal(r.spec.name), literal(r.kind or "-"), status, str(r.kept),
                      str(r.new), str(r.updated), str(r.unchanged),
                      f"{r.revisions} skipped" if r.revisions else "0", str(r.repaired))
    return table


def feed_notes(results: Sequence[FeedResult]) -> list[str]:
    """One line per feed with a problem or a note: ``name: why`` (feed text: print it
    literally, never as markup)."""
    lines = []
    for r in results:
        said = "; ".join(x for x in (r.error or r.warning, *r.notes) if x)
        if said:
            lines.append(f"{r.spec.name}: {'failed: ' if r.status == 'error' else ''}{said}")
    return lines


def print_feeds(results: Sequence[FeedResult]) -> None:
    """The feed table, then each feed's problem or note on its own line below it."""
    console.print(feed_table(results))
    for line in feed_notes(results):
        console.print(literal(line), highlight=False, soft_wrap=True)


def summary_line(results: Sequence[FeedResult]) -> str:
    failed = sum(r.status == "error" for r in results)
    same = sum(r.status == "not_modified" for r in results)
    return (f"{len(results)} feeds: {len(results) - failed - same} ok, {same} not modified, "
            f"{failed} failed; papers: {sum(r.new for r in results)} new, "
            f"{sum(r.updated for r in results)} updated, "
            f"{sum(r.unchanged for r in results)} unchanged, "
            f"{sum(r.revisions for r in results)} replacements skipped, "
            f"{sum(r.repaired for r in results)} repaired")


def expand_feed_args(args: Sequence[str]) -> list[str]:
    """Directories given to --feed stand for every file below them (sorted)."""
    out: list[str] = []
    for arg in args:
        path = Path(arg)
        if "://" not in arg and path.is_dir():
            out.extend(str(p) for p in sorted(path.rglob("*")) if p.is_file())
        else:
            out.append(arg)
    return out


def _run_with_progress(rt: Runtime, urls: list[str] | None) -> list[FeedResult]:
    specs = rt.fetcher.specs(urls)
    with Progress(TextColumn("{task.description}", style="bold", markup=False), BarColumn(),
                  TextColumn("{task.fields[stage]}"), console=console,
                  transient=False) as progress:
        tasks: dict[str, TaskID] = {
            spec.url: progress.add_task(literal(spec.name, limit=40).plain, total=_DONE, stage="queued")
            for spec in specs
        }

        def on_stage(spec: FeedSpec, stage: str) -> None:
            progress.update(tasks[spec.url], completed=_STAGES.get(stage, 0), stage=stage)

        def on_done(result: FeedResult) -> None:
            label = {"ok": f"{result.new} new", "not_modified": "not modified"}.get(
                result.status, "[red]failed")
            progress.update(tasks[result.spec.url], completed=_DONE, stage=label)

        return rt.fetcher.fetch(now=utcnow(), urls=urls, on_done=on_done, on_stage=on_stage)


def fetch_command(
    feed: list[str] = typer.Option(
        None, "--feed",
        help="URL, path or directory; NAME=KIND:URL also works. Repeatable. "
             "Default: DIGEST_FEEDS."),
) -> None:
    """Fetch feeds and store new papers."""
    with runtime() as rt:
        results = _run_with_progress(rt, expand_feed_args(feed) if feed else None)
    print_feeds(results)
    console.print(summary_line(results), highlight=False)
    if results and all(r.status == "error" for r in results):
        say_error("every feed failed:", "nothing was fetched (reasons above)")
        raise typer.Exit(EXIT_FAILED)


def register(app: typer.Typer) -> None:
    app.command("fetch")(fetch_command)

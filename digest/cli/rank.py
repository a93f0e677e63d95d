"""``digest rank``: rank papers for one interest profile, from feed files or the store.

With ``--json`` stdout carries only a JSON array of picks, best first; notes go to stderr.
A feed file that is not a feed is reported as ``digest fetch`` reports it (exit 1 when no
file could be read).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from digest.models import Pick, Profile, Ranking
from digest.text import display_line


def pick_to_json(pick: Pick) -> dict[str, object]:
    """The JSON shape of one pick: id, title, score and reasons first, then paper details."""
    p = pick.paper
    return {
        "id": p.id,
        "title": p.title,
        "score": pick.score,
        "reasons": list(pick.reasons),
        "url": p.url,
        "authors": list(p.authors),
        "categories": list(p.categories),
        "published": p.published.isoformat() if p.published else None,
        "upvotes": p.upvotes,
    }


def _print_text(ranking: Ranking) -> None:
    for n, pick in enumerate(ranking.picks, 1):
        # Titles and reasons quote the feed: one line each, no control characters.
        title, ident = display_line(pick.paper.title), display_line(pick.paper.id)
        typer.echo(f"{n:2d}. [{pick.score:.3f}] {title}  ({ident})")
        for reason in pick.reasons:
            typer.echo(f"      - {display_line(reason)}")
    if ranking.quiet:
        typer.echo(f"Quiet: only {len(ranking.picks)} of {ranking.considered} papers "
                   "cleared the relevance bar.")


def register(app: typer.Typer) -> None:
    """Add the ``rank`` command to ``app`` (the lead's ``digest`` Typer app)."""

    @app.command("rank")
    def rank_command(
        interests: Annotated[
            str | None, typer.Option("--interests", help="What you read, in words.")
        ] = None,
        subscriber: Annotated[
            str | None,
            typer.Option("--subscriber", help="Rank for a stored subscriber (their profile, "
                         "feedback and what they were already sent)."),
        ] = None,
        feed: Annotated[
            list[Path] | None, typer.Option("--feed", help="Feed file to rank (repeatable).")
        ] = None,
        top: Annotated[int, typer.Option("--top", min=1, max=100, help="How many picks.")] = 10,
        as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array only.")] = False,
    ) -> None:
        """Rank papers for an interest profile and say why each was picked.

        With --feed, the papers in those files (no store needed); otherwise the papers stored
        in the last 30 days (or, on an empty store, the configured feed files).
        """
        from digest.rank.interests import has_topic  # not at import: `digest --help` stays light

        if interests is not None and not has_topic(interests):
            typer.echo("error: --interests has nothing to rank by: write a few words about what "
                       "you read (or an arXiv link)", err=True)
            raise typer.Exit(2)
        if interests is None and subscriber is None:
            typer.echo("error: give --interests TEXT (or --subscriber EMAIL)", err=True)
            raise typer.Exit(2)
        paths = list(feed or [])
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            typer.echo(f"error: feed file not found: {', '.join(missing)}", err=True)
            raise typer.Exit(2)
        now = datetime.now(UTC)
        from digest.cli.common import progress_bar

        # Encoding a few hundred papers takes a while on a first run: a bar of papers encoded
        # (on stderr, so --json output stays clean; only on a terminal).
        with progress_bar("encoding papers") as on_progress:
            ranking = _rank(paths, interests, subscriber, now, top, on_progress)
        if as_json:
            typer.echo(json.dumps([pick_to_json(p) for p in ranking.picks], ensure_ascii=False))
            if ranking.quiet:
                n = len(ranking.picks)
                typer.echo(f"quiet: only {n} {'pick' if n == 1 else 'picks'} cleared the "
                           "relevance bar", err=True)
        else:
            _print_text(ranking)


def _rank(paths: list[Path], interests: str | None, email: str | None, now: datetime,
          top: int, on_progress: Callable[[int, int], None] | None = None) -> Ranking:
    from digest.app.rank import UnknownSubscriber, rank_papers, rank_stored, read_feed_files
    from digest.cli.common import runtime

    files = None
    if paths:
        files = read_feed_files(paths)
        for path, problem in files.problems:
            typer.echo(display_line(f"{path}: {problem}"), err=True)
        if not files.papers and files.problems:
            raise typer.Exit(1)
    with runtime() as rt:
        if files is not None and email is None:  # feed files need no database, only the encoder
            return rank_papers(files.papers, Profile(interests=interests or ""), now=now,
                               top=top, embedder=rt.embedder, on_progress=on_progress)
        try:
            return rank_stored(rt.rankers, papers=files.papers if files else None,
                               interests=interests, email=email, now=now, top=top,
                               fallback=[Path(f) for f in rt.settings.feeds])
        except UnknownSubscriber as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None

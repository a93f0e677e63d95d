"""``digest rank``: rank papers for one interest profile, from feed files or (later) the store.

The edge for ranking: reads files and the clock, then calls the pure ranker. With ``--json``
stdout carries only a JSON array of picks, best first; notes go to stderr.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from digest.errors import DigestError
from digest.models import Paper, Pick, Profile, Ranking


def pick_to_json(pick: Pick) -> dict:
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


def _load(paths: list[Path]) -> list[Paper]:
    try:  # the lead's parser, once it lands; the fallback reads the same formats
        from digest.feeds import parse_feed  # type: ignore[import-not-found]
    except ImportError:
        from digest.rank.corpus import load_papers_from_files

        return load_papers_from_files(paths)
    papers: dict[str, Paper] = {}
    for path in paths:
        for paper in parse_feed(path.read_bytes(), source=path.name).papers:
            papers.setdefault(paper.id, paper)
    return list(papers.values())


def _print_text(ranking: Ranking) -> None:
    for n, pick in enumerate(ranking.picks, 1):
        typer.echo(f"{n:2d}. [{pick.score:.3f}] {pick.paper.title}  ({pick.paper.id})")
        for reason in pick.reasons:
            typer.echo(f"      - {reason}")
    if ranking.quiet:
        typer.echo(
            f"Quiet week: {len(ranking.picks)} of {ranking.considered} papers cleared the bar."
        )


def register(app: typer.Typer) -> None:
    """Add the ``rank`` command to ``app`` (the lead's ``digest`` Typer app)."""

    @app.command("rank")
    def rank_command(
        interests: Annotated[str, typer.Option("--interests", help="What you read, in words.")],
        subscriber: Annotated[
            str | None, typer.Option("--subscriber", help="Rank for a stored subscriber.")
        ] = None,
        feed: Annotated[
            list[Path] | None, typer.Option("--feed", help="Feed file to rank (repeatable).")
        ] = None,
        top: Annotated[int, typer.Option("--top", min=1, max=100, help="How many picks.")] = 10,
        as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array only.")] = False,
    ) -> None:
        """Rank papers for an interest profile and say why each was picked."""
        from digest.rank import build_ranker

        if subscriber is not None:
            typer.echo("error: --subscriber needs the store, which this build lacks", err=True)
            raise typer.Exit(2)
        if not interests.strip():
            typer.echo("error: --interests must not be empty", err=True)
            raise typer.Exit(2)
        paths = list(feed or [])
        if not paths:
            from digest.config import load_settings

            paths = [Path(f) for f in load_settings().feeds]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            typer.echo(f"error: feed file not found: {', '.join(missing)}", err=True)
            raise typer.Exit(2)
        try:
            papers = _load(paths)
            ranking = build_ranker(papers).rank(
                Profile(interests=interests), now=datetime.now(UTC), k=top
            )
        except DigestError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
        if as_json:
            typer.echo(json.dumps([pick_to_json(p) for p in ranking.picks], ensure_ascii=False))
            if ranking.quiet:
                typer.echo(f"quiet week: {len(ranking.picks)} picks cleared the floor", err=True)
        else:
            _print_text(ranking)

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
        if interests is not None and not interests.strip():
            typer.echo("error: --interests must not be empty", err=True)
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
        try:
            if paths and subscriber is None:
                ranking = _rank_files(paths, Profile(interests=interests or ""), now, top)
            else:
                ranking = _rank_stored(paths, interests, subscriber, now, top)
        except DigestError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
        if as_json:
            typer.echo(json.dumps([pick_to_json(p) for p in ranking.picks], ensure_ascii=False))
            if ranking.quiet:
                n = len(ranking.picks)
                typer.echo(f"quiet week: {n} {'pick' if n == 1 else 'picks'} cleared the floor", err=True)
        else:
            _print_text(ranking)


def _rank_files(paths: list[Path], profile: Profile, now: datetime, top: int) -> Ranking:
    from digest.rank import build_ranker, default_embedder
    from digest.rank.vector_cache import cached_vectors

    papers = _load(paths)
    embedder = default_embedder()
    # Each paper is encoded once per machine, not once per call (vector_cache.py).
    vectors = cached_vectors(papers, embedder) if embedder is not None and papers else None
    return build_ranker(papers, embedder=embedder, embeddings=vectors).rank(profile, now=now, k=top)


def _rank_stored(paths: list[Path], interests: str | None, email: str | None, now: datetime,
                 top: int) -> Ranking:
    """Rank from the store: a subscriber's full profile, minus what they were already sent."""
    from dataclasses import replace

    from digest.cli.common import runtime
    from digest.corpus import pool_ranker
    from digest.editions import FIRST_EDITION_LOOKBACK
    from digest.store.ledger import sent_paper_ids
    from digest.store.papers import papers_seen_since
    from digest.store.subscribers import get_subscriber

    with runtime() as rt:
        sub = None
        if email is not None:
            sub = get_subscriber(rt.engine, email=email.strip())
            if sub is None:
                typer.echo(f"error: no subscriber {email!r}", err=True)
                raise typer.Exit(2)
        profile = sub.profile if sub else Profile(interests=interests or "")
        if sub and interests:
            profile = replace(profile, interests=interests)
        if paths:
            pool = _load(paths)
        else:
            pool = papers_seen_since(rt.engine, now - FIRST_EDITION_LOOKBACK)
            if not pool:  # an empty store: rank the configured feed files, as a first try
                pool = _load([Path(f) for f in rt.settings.feeds if Path(f).is_file()])
        exclude = sent_paper_ids(rt.engine, sub.id) if sub else set()
        ranker = pool_ranker(rt.engine, pool, embedder=rt.embedder,
                             subscribers=[sub] if sub else [])
        return ranker.rank(profile, now=now, k=top, exclude=exclude)

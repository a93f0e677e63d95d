"""``digest rank``: rank papers for free-text interests (first version; see issue 8)."""

from __future__ import annotations

import json

import typer

from digest.cli.common import runtime, utcnow
from digest.models import Profile
from digest.pipeline import FIRST_EDITION_LOOKBACK
from digest.rank import build_ranker
from digest.store.papers import papers_seen_since


def rank_command(
    interests: str = typer.Option(..., help="What the reader is interested in."),
    top: int = typer.Option(10, "--top", min=1, max=100),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Rank stored papers for INTERESTS."""
    with runtime() as rt:
        now = utcnow()
        ranking = build_ranker(papers_seen_since(rt.engine, now - FIRST_EDITION_LOOKBACK)).rank(
            Profile(interests=interests), now=now, k=top)
    rows = [{"id": p.paper.id, "title": p.paper.title, "score": p.score,
             "reasons": list(p.reasons)} for p in ranking.picks]
    print(json.dumps(rows, ensure_ascii=False, indent=None if as_json else 2))


def register(app: typer.Typer) -> None:
    app.command("rank")(rank_command)

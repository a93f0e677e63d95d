"""Use case: ``digest rank`` — rank papers for one interest profile, from feed files (read
with the product's own feed parser) or from the store, and say why each was picked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from digest.app.rankers import Rankers, with_revision_marks
from digest.app.vectors import Progress, cached_vectors
from digest.editions import FIRST_EDITION_LOOKBACK
from digest.feeds import parse_feed
from digest.models import Paper, Profile, Ranking
from digest.rank import Embedder, build_ranker
from digest.store.subscribers import get_subscriber


class UnknownSubscriber(LookupError):
    """``--subscriber`` names no stored subscriber."""


@dataclass(slots=True)
class FeedFiles:
    """Papers read from feed files (each paper once), and each file that failed or was only
    partly readable, with the parser's one-line reason."""

    papers: list[Paper] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)


def read_feed_files(paths: Sequence[Path]) -> FeedFiles:
    """Parse each file as ``digest fetch`` would (same parser, same errors)."""
    out = FeedFiles()
    seen: set[str] = set()
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError as exc:
            out.problems.append((str(path), f"cannot read: {exc.strerror or exc}"))
            continue
        parsed = parse_feed(data, source=path.name)
        if parsed.error:
            out.problems.append((str(path), parsed.error))
        for paper in parsed.papers:
            if paper.id not in seen:
                seen.add(paper.id)
                out.papers.append(paper)
    return out


def rank_papers(papers: Sequence[Paper], profile: Profile, *, now: datetime, top: int,
                embedder: Embedder | None, on_progress: Progress | None = None) -> Ranking:
    """Rank papers from files for free-text interests; needs no database. ``on_progress``:
    see ``cached_vectors`` (encoding is what takes time on a first run)."""
    vectors = (cached_vectors(papers, embedder, on_progress=on_progress)
               if embedder is not None and papers else None)
    return build_ranker(papers, embedder=embedder, embeddings=vectors).rank(profile, now=now,
                                                                           k=top)


def rank_stored(rankers: Rankers, *, papers: Sequence[Paper] | None, interests: str | None,
                email: str | None, now: datetime, top: int,
                fallback: Sequence[Path] = ()) -> Ranking:
    """Rank from the store: a stored subscriber's whole profile (``interests`` replaces their
    text when given), minus what they were already sent; ``papers`` (from files) instead of
    the papers stored in the last 30 days when given; on an empty store, the ``fallback``
    feed files (the configured ones, as a first try). Raises UnknownSubscriber."""
    engine = rankers.engine
    sub = None
    if email is not None:
        sub = get_subscriber(engine, email=email.strip())
        if sub is None:
            raise UnknownSubscriber(f"no subscriber {email!r}")
    pool = list(papers) if papers is not None else rankers.pool(
        now - FIRST_EDITION_LOOKBACK).papers
    if not pool and papers is None:
        pool = read_feed_files([p for p in fallback if p.is_file()]).papers
    ranker = rankers.over(pool, [sub] if sub else [])
    if sub is None:
        return with_revision_marks(ranker.rank(Profile(interests=interests or ""), now=now,
                                               k=top))
    if interests:
        sub = replace(sub, profile=replace(sub.profile, interests=interests))
    return rankers.rank(ranker, replace(sub, papers_per_email=top), now=now)

"""Use-case helper: rankers over stored papers, reusing stored embeddings (encoding only
papers that have none), and ranking one subscriber against one.

Between the store and the pure ranker. A paper is encoded once (when a ranker
first needs it) and its vector kept in ``papers.embedding``; papers that subscribers liked,
disliked or named as seeds come along as history so feedback keeps working across weeks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from digest.models import Paper, Ranking, Subscriber
from digest.rank import Embedder, Ranker, build_ranker, embed_papers, from_blob, to_blob
from digest.store import Engine
from digest.store.embeddings import load_embeddings, save_embeddings
from digest.store.ledger import sent_paper_ids
from digest.store.papers import get_papers


def cached_embeddings(engine: Engine, papers: Sequence[Paper],
                      embedder: Embedder) -> dict[str, np.ndarray]:
    """Vectors for ``papers``: stored ones, plus freshly encoded (and stored) missing ones."""
    ids = [p.id for p in papers]
    stored = {pid: from_blob(blob) for pid, blob in
              load_embeddings(engine, ids, model=embedder.name).items()}
    missing = [p for p in papers if p.id not in stored]
    if missing:
        fresh = embed_papers(missing, embedder)
        save_embeddings(engine, {pid: to_blob(v) for pid, v in fresh.items()}, model=embedder.name)
        stored.update(fresh)
    return stored


def _history_ids(subscribers: Iterable[Subscriber], pool: set[str]) -> list[str]:
    wanted: dict[str, None] = {}
    for sub in subscribers:
        for pid in (*sub.profile.liked, *sub.profile.disliked, *sub.profile.seed_papers):
            if pid not in pool:
                wanted[pid] = None
    return list(wanted)


def pool_ranker(engine: Engine, pool: Sequence[Paper], *, embedder: Embedder | None,
                subscribers: Iterable[Subscriber] = ()) -> Ranker:
    """A ranker over ``pool`` for these subscribers, with cached embeddings and history."""
    ids = {p.id for p in pool}
    history = list(get_papers(engine, _history_ids(subscribers, ids)).values())
    if embedder is None:  # no encoder installed: lexical ranking only
        return build_ranker(pool, semantic=False, history=history)
    vectors = cached_embeddings(engine, [*pool, *history], embedder)
    return build_ranker(pool, embedder=embedder, embeddings=vectors, history=history)


@dataclass(frozen=True, slots=True)
class Rankers:
    """Builds rankers over stored papers for the plan, preview and rank use cases."""

    engine: Engine
    embedder: Embedder | None  # None: no encoder installed, lexical ranking only

    def over(self, pool: Sequence[Paper], subscribers: Iterable[Subscriber] = ()) -> Ranker:
        """A ranker over ``pool`` that knows these subscribers' liked/disliked/seed papers."""
        return pool_ranker(self.engine, pool, embedder=self.embedder, subscribers=subscribers)

    def rank(self, ranker: Ranker, subscriber: Subscriber, *, now: datetime,
             exclude: set[str] | None = None) -> Ranking:
        """Rank for one subscriber, leaving out what they were already sent (and ``exclude``:
        papers older than their edition window)."""
        skip = sent_paper_ids(self.engine, subscriber.id) | (exclude or set())
        return ranker.rank(subscriber.profile, now=now, k=subscriber.papers_per_email,
                           exclude=skip)

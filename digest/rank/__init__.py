"""Ranking: which new papers each subscriber should read, why, and in what order.

Pure functions over papers and profiles with ``now`` passed in; no store, network or env.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from digest.models import Paper, Profile, Ranking
from digest.rank.encoder import Embedder
from digest.rank.ranker import Ranker, build_ranker
from digest.rank.semantic import default_embedder, embed_papers, from_blob, to_blob

__all__ = [
    "Embedder",
    "Ranker",
    "build_ranker",
    "default_embedder",
    "embed_papers",
    "from_blob",
    "rank_papers",
    "to_blob",
]


def rank_papers(
    papers: Sequence[Paper],
    profile: Profile,
    *,
    now: datetime,
    k: int = 10,
    exclude: Collection[str] = frozenset(),
) -> Ranking:
    """Build a ranker for ``papers`` and rank them for one profile (convenience for one-offs)."""
    return build_ranker(papers).rank(profile, now=now, k=k, exclude=exclude)

"""Popularity and recency priors, scaled per subscriber by ``Profile.popularity_weight``.

Priors break ties among relevant papers; they never lift a paper over the relevance floor.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np

from digest.models import Paper

POPULARITY = 0.05  # at most this much cosine for the day's most upvoted paper
RECENCY = 0.02
HALF_LIFE_DAYS = 7.0


def popularity(papers: Sequence[Paper]) -> np.ndarray:
    """log(1 + upvotes) relative to the corpus's most upvoted paper, in [0, 1]."""
    ups = np.array([max(p.upvotes or 0, 0) for p in papers], dtype=np.float32)
    top = np.log1p(ups.max()) if len(ups) else 0.0
    return np.log1p(ups) / top if top > 0 else np.zeros_like(ups)


def recency(papers: Sequence[Paper], now: datetime) -> np.ndarray:
    """Halves every week since publication; papers without a date get the neutral 0.5."""
    out = np.full(len(papers), 0.5, dtype=np.float32)
    for i, p in enumerate(papers):
        when = p.published or p.first_seen
        if when is not None:
            age = max((now - when).total_seconds() / 86400.0, 0.0)
            out[i] = 0.5 ** (age / HALF_LIFE_DAYS)
    return out


def prior_base(papers: Sequence[Paper], now: datetime) -> np.ndarray:
    """The prior at weight 1 (the same for every subscriber of an edition)."""
    base: np.ndarray = POPULARITY * popularity(papers) + RECENCY * recency(papers, now)
    return base


def weighted_prior(base: np.ndarray, weight: float) -> np.ndarray:
    """``base`` (see :func:`prior_base`) scaled by one subscriber's popularity weight."""
    return (max(weight, 0.0) * base).astype(np.float32)


def prior_scores(papers: Sequence[Paper], now: datetime, weight: float) -> np.ndarray:
    """The additive prior for one subscriber."""
    return weighted_prior(prior_base(papers, now), weight)

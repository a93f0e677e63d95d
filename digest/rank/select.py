"""Selection: relevance floor, never-resend, and MMR so the list is not one idea five times."""

from __future__ import annotations

import numpy as np

# MMR (Carbonell & Goldstein) on the excess over REDUNDANT only: papers on one topic sit at
# cosine 0.4-0.65 with each other, and 0.7 is about the 99th percentile of pairwise
# similarity in both benchmark corpora, so only unusually close pairs (variants of one idea)
# pay. Plain MMR also taxed ordinary same-topic papers and cost relevance for nothing.
REDUNDANT = 0.7
MMR_PENALTY = 1.0
DUPLICATE = 0.92  # cosine above which two papers are the same work (versions, re-posts)
SHORTLIST = 30  # MMR for k <= 10 never reaches far: 3x k is plenty


def pick_top(
    score: np.ndarray,
    eligible: np.ndarray,
    vectors: np.ndarray | None,
    k: int,
) -> list[int]:
    """Indices of up to ``k`` eligible papers, best first, by maximal marginal relevance.

    ``score`` is what we rank by (relevance + priors); ``eligible`` already encodes the floor
    and the exclusions; ``vectors`` (unit rows) measure redundancy, or None to skip MMR.
    """
    candidates = np.flatnonzero(eligible)
    if k <= 0 or len(candidates) == 0:
        return []
    if len(candidates) > SHORTLIST:
        top = np.argpartition(-score[candidates], SHORTLIST - 1)[:SHORTLIST]
        candidates = candidates[top]
    candidates = candidates[np.argsort(-score[candidates], kind="stable")]
    if vectors is None:
        return [int(i) for i in candidates[:k]]
    vecs = vectors[candidates]
    sims = vecs @ vecs.T
    chosen: list[int] = []
    redundancy = np.full(len(candidates), -1.0, dtype=np.float32)
    alive = np.ones(len(candidates), dtype=bool)
    while len(chosen) < k and alive.any():
        mmr = score[candidates] - MMR_PENALTY * np.maximum(redundancy - REDUNDANT, 0)
        mmr[~alive] = -np.inf
        best = int(np.argmax(mmr))
        chosen.append(best)
        alive[best] = False
        redundancy = np.maximum(redundancy, sims[best])
        alive &= sims[best] < DUPLICATE
    return [int(candidates[i]) for i in chosen]

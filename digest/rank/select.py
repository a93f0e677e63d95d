"""Selection: relevance floor, never-resend, and MMR so the list is not one idea five times."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# MMR (Carbonell & Goldstein) on the excess over REDUNDANT only (MiniLM cosine): papers on
# one topic sit at 0.4-0.65 with each other. Read pair by pair, every pair of the benchmark
# corpora under 0.85 is two different works a reader of the topic wants both of (0.70-0.83:
# MiniCache vs ShadowKV, two flaky-test studies, Sequence Parallelism vs DeepSpeed Ulysses);
# tight variants of one idea sit above, and past DUPLICATE the same work re-posted (0.95).
# Lower thresholds cost nDCG on every judged set (0.7: -0.01 to -0.04 @5) for no gain a
# reader asked for, so diversity here means "no variants", not "spread the topic thin".
REDUNDANT = 0.85
MMR_PENALTY = 1.0
DUPLICATE = 0.92  # cosine above which two papers are the same work (versions, re-posts)
SHORTLIST = 30  # MMR for k <= 10 never reaches far: 3x k is plenty
# A reader with several sub-interests: each paper already picked for a sub-interest lowers the
# next one for it by this much (cosine), so a served side is not crowded out by a denser one
# (a diminishing return per sub-interest, as in xQuAD, Santos et al. 2010). Set before
# measuring: relevant papers for one profile spread over ~0.3 of cosine, so after three picks
# on one side a paper of the other side within 0.06 of them goes first.
SPREAD = 0.02


def pick_top(
    score: np.ndarray,
    eligible: np.ndarray,
    vectors: np.ndarray | None,
    k: int,
    *,
    groups: np.ndarray | None = None,
) -> list[int]:
    """Indices of up to ``k`` eligible papers, best first, by maximal marginal relevance.

    ``score`` is what we rank by (relevance + priors); ``eligible`` already encodes the floor
    and the exclusions; ``vectors`` (unit rows) measure redundancy, or None to skip MMR;
    ``groups`` (int per paper, e.g. the sub-interest it serves) spreads picks across groups.
    """
    candidates = _shortlist(score, eligible) if k > 0 else np.zeros(0, np.intp)
    if len(candidates) == 0:
        return []
    if vectors is None and groups is None:
        return [int(i) for i in candidates[:k]]
    sims = vectors[candidates] @ vectors[candidates].T if vectors is not None else None
    group = groups[candidates] if groups is not None else np.zeros(len(candidates), np.int64)
    served = np.zeros(int(group.max()) + 1, dtype=np.float32)
    chosen: list[int] = []
    redundancy = np.full(len(candidates), -1.0, dtype=np.float32)
    alive = np.ones(len(candidates), dtype=bool)
    while len(chosen) < k and alive.any():
        mmr = score[candidates] - MMR_PENALTY * np.maximum(redundancy - REDUNDANT, 0)
        if groups is not None:
            mmr = mmr - SPREAD * served[group]
        mmr[~alive] = -np.inf
        best = int(np.argmax(mmr))
        chosen.append(best)
        alive[best] = False
        served[group[best]] += 1
        if sims is not None:
            redundancy = np.maximum(redundancy, sims[best])
            alive &= sims[best] < DUPLICATE
    return [int(candidates[i]) for i in chosen]


def _shortlist(score: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """The eligible papers MMR looks at: the SHORTLIST best, best first (ties: lower index)."""
    candidates = np.flatnonzero(eligible)
    if len(candidates) > SHORTLIST:
        top = np.argpartition(-score[candidates], SHORTLIST - 1)[:SHORTLIST]
        candidates = candidates[top]
    return candidates[np.argsort(-score[candidates], kind="stable")]


# One reader of a batch: (score, eligible, k, groups), as pick_top takes them.
Choice = tuple[np.ndarray, np.ndarray, int, np.ndarray | None]


def pick_top_many(batch: Sequence[Choice], vectors: np.ndarray) -> list[list[int]]:
    """:func:`pick_top` with ``vectors`` for each reader of a batch, in order: the same
    indices, each MMR round done for every reader at once on (readers, SHORTLIST) arrays.

    Every value is computed by the same element-wise float operations as pick_top's (a
    reader's shortlist padded with dead entries), so the picks are identical
    (tests/unit/test_rank_select.py). Measured (bench/edition.py, 5,000 readers, py-spy):
    pick_top was 14% of planning, ~10 small numpy calls per round per reader.
    """
    if len({score.dtype for score, _, _, _ in batch}) > 1:  # keep each reader's arithmetic
        return [pick_top(s, e, vectors, k, groups=g) for s, e, k, g in batch]
    shorts = [_shortlist(s, e) if k > 0 else np.zeros(0, np.intp) for s, e, k, _ in batch]
    width = max((len(c) for c in shorts), default=0)
    if width == 0:
        return [[] for _ in batch]
    n = len(batch)
    base = np.full((n, width), -np.inf, dtype=batch[0][0].dtype)
    sims = np.zeros((n, width, width), dtype=vectors.dtype)
    group = np.zeros((n, width), dtype=np.intp)
    alive = np.zeros((n, width), dtype=bool)
    for r, ((score, _, _, groups), c) in enumerate(zip(batch, shorts, strict=True)):
        base[r, :len(c)], alive[r, :len(c)] = score[c], True
        sims[r, :len(c), :len(c)] = vectors[c] @ vectors[c].T
        if groups is not None and len(c):
            group[r, :len(c)] = groups[c]
    grouped = np.array([g is not None for _, _, _, g in batch])[:, None]
    served = np.zeros((n, int(group.max()) + 1), dtype=np.float32)
    redundancy = np.full((n, width), -1.0, dtype=np.float32)
    need = np.array([k for _, _, k, _ in batch])
    rows = np.arange(n)
    chosen: list[list[int]] = [[] for _ in batch]
    counts = np.zeros(n, dtype=np.intp)
    while True:
        active = np.flatnonzero((counts < need) & alive.any(axis=1))
        if len(active) == 0:
            break
        mmr = base - MMR_PENALTY * np.maximum(redundancy - REDUNDANT, 0)
        mmr = np.where(grouped, mmr - SPREAD * served[rows[:, None], group], mmr)
        best = np.argmax(np.where(alive, mmr, -np.inf), axis=1)[active]
        for r, b in zip(active.tolist(), best.tolist(), strict=True):
            chosen[r].append(int(shorts[r][b]))
        counts[active] += 1
        alive[active, best] = False
        served[active, group[active, best]] += 1
        picked = sims[active, best]  # (active, width): each one's similarity to its pick
        redundancy[active] = np.maximum(redundancy[active], picked)
        alive[active] &= picked < DUPLICATE
    return chosen

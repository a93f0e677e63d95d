"""The encoder's relevance for a batch of readers at once: every reader's query rows against
the candidate pool in one matrix product (then once more for the expanded rows), instead of
a few small products per reader.

Measured on this 2-core host, one BLAS thread, 2,000 papers x 384 dimensions: a (3 x 384)
product per reader took 280-460 us (10-15 ms for 30 readers), the same rows in one
(600 x 384) product 10 us a row (issue 20). The rule itself is the ranker's
(digest.rank.ranker): several sub-interests mix the whole text's cosine with the best
sub-interest's; the order comes from pseudo-relevance-expanded rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Pseudo-relevance feedback (Rocchio over the top PRF_K papers, textbook BETA): the reader's
# words are moved toward the papers they match best, so a sentence in everyday words reaches
# the papers' vocabulary. k = 3 as in dense-retrieval PRF (Li et al. 2021, "Pseudo relevance
# feedback with deep language models and dense retrievers"). Measured on the tuning
# profiles (bench/rank_quality.py): worded-unlike nDCG@5 0.71 -> 0.76 (seeds) and
# 0.71 -> 0.74 (listings); k = 5 drifted (0.74 / 0.72).
PRF_K = 3
PRF_BETA = 0.75
WHOLE_SHARE = 0.5  # several sub-interests: the whole text's cosine keeps half the say
# A paper's title on its own, added to the order's cosine (then divided by 1 + TITLE_WEIGHT, so
# scores stay in cosine units): a title states what the paper is about in a dozen words, while
# the title + abstract vector is diluted by the abstract's generic opening and set-up. Chosen on
# the tuning profiles only (bench/rank_quality.py, issue 17), nDCG@5 all / worded unlike:
# seeds 0.768 -> 0.791 / 0.744 -> 0.790, listings 0.800 -> 0.826 / 0.765 -> 0.776; 0.2 and 0.5
# were no better, and a best-sentence-of-the-abstract channel was a tie there at 5x the vectors.
TITLE_WEIGHT = 0.3


@dataclass(frozen=True, slots=True)
class Query:
    """One reader's unit query rows: the whole text and the (feedback-moved) sub-interests."""

    whole: np.ndarray  # (dim,)
    interests: np.ndarray  # (m, dim); m = 1 when the reader wrote one interest
    several: bool  # m > 1: sub-interests are scored on their own and mixed with the whole


@dataclass(frozen=True, slots=True)
class Cosines:
    """One reader's semantic evidence over the pool, each (papers,)."""

    own: np.ndarray  # the paper itself against what the reader wrote: the floor's measure
    score: np.ndarray  # the same after pseudo-relevance expansion: the order
    served: np.ndarray | None  # the sub-interest each paper serves best (several only)


def expand(queries: np.ndarray, vectors: np.ndarray, sims: np.ndarray | None = None) -> np.ndarray:
    """Each unit query row moved toward the mean of its PRF_K nearest paper rows, renormalized.

    ``sims``: the rows' cosines to ``vectors`` when already computed, (queries, papers).
    """
    k = min(PRF_K, vectors.shape[0])
    if k == 0 or len(queries) == 0:
        return queries
    sims = queries @ vectors.T if sims is None else sims
    # the k best, best first (as a full argsort would give them)
    top = _best(sims, k) if sims.shape[1] > k else np.argsort(-sims, axis=1)[:, :k]
    out = queries + PRF_BETA * vectors[top].mean(axis=1)
    unit: np.ndarray = out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
    return unit.astype(np.float32)


def _partitioned(sims: np.ndarray, k: int) -> np.ndarray:
    """The k best columns of each row, best first: partition, then sort the k."""
    part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(sims, part, axis=1), axis=1)
    top: np.ndarray = np.take_along_axis(part, order, axis=1)
    return top


def _best(sims: np.ndarray, k: int) -> np.ndarray:
    """:func:`_partitioned`, by k + 1 row maxima: 21 us a row of 2,000 for the partition
    against ~3 us (issue 20: 7.6% of planning 20,000 bench/edition.py readers, py-spy).
    Where the k + 1 best of a row are all distinct, the k best and their order are the only
    answer either way; a row with a tie among them (a re-posted paper's identical vector) is
    partitioned as before, so ties fall as they always did."""
    rows = np.arange(len(sims))
    work = sims.copy()
    top = np.empty((len(sims), k + 1), dtype=np.intp)
    values = np.empty((len(sims), k + 1), dtype=sims.dtype)
    for j in range(k + 1):  # callers have more than k columns
        top[:, j] = np.argmax(work, axis=1)
        values[:, j] = work[rows, top[:, j]]
        work[rows, top[:, j]] = -np.inf
    distinct = (values[:, 1:] < values[:, :-1]).all(axis=1)
    out = top[:, :k]
    if not distinct.all():
        out[~distinct] = _partitioned(sims[~distinct], k)
    return out


def _mix(sims: np.ndarray, several: bool) -> np.ndarray:
    """The relevance from one reader's rows: [whole, *interests] or [interest]."""
    first: np.ndarray = sims[0]
    if not several:
        return first
    mixed: np.ndarray = WHOLE_SHARE * sims[0] + (1 - WHOLE_SHARE) * sims[1:].max(axis=0)
    return mixed


def _stack(rows: list[np.ndarray], dim: int) -> np.ndarray:
    return np.vstack(rows).astype(np.float32) if rows else np.zeros((0, dim), np.float32)


def cosines(queries: Sequence[Query], vectors: np.ndarray,
            titles: np.ndarray | None = None) -> list[Cosines]:
    """Semantic evidence for each query over ``vectors`` (papers, dim) unit rows, in order:
    two matrix products for the whole batch (three with ``titles``, the papers' title rows,
    (papers, dim): they join the order with TITLE_WEIGHT; the floor's ``own`` never reads them)."""
    firsts = [np.vstack([q.whole[None], q.interests]) if q.several else q.interests
              for q in queries]
    rows = _stack(firsts, vectors.shape[1])
    sims = rows @ vectors.T
    # expand works row by row: one call for the batch's rows gives each reader's rows the
    # values a call per reader gave (tests/unit/test_rank_batch.py), without a top-k
    # selection, gather and renormalization per reader (0.16 ms a reader under cProfile,
    # 41% of this function: bench/edition.py, 5,000 readers).
    again = expand(rows, vectors, sims) @ vectors.T
    if titles is not None:
        again += TITLE_WEIGHT * (rows @ titles.T)
        again /= 1 + TITLE_WEIGHT
    out, at = [], 0
    for q, first in zip(queries, firsts, strict=True):
        mine = slice(at, at + len(first))
        at += len(first)
        # served only for the order's rows: an argmax down a reader's rows cost 20 us
        served = np.argmax(again[mine][1:], axis=0) if q.several else None
        out.append(Cosines(_mix(sims[mine], q.several), _mix(again[mine], q.several), served))
    return out

"""Rank many subscribers at once: profile vectors x paper matrix in chunks, then MMR in bulk.

A bulk path for very large lists (bench/rank_scale.py). Memory is bounded by the chunk size,
not the number of subscribers; results stream out chunk by chunk. It scores one vector per
profile with a BM25 bonus: Ranker.rank's scoring before issue 17 (no sub-interests,
pseudo-relevance feedback or IDF-coverage bonus), so its picks can differ from Ranker.rank's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from digest.rank.ranker import FLOOR, LEXICAL_WEIGHT
from digest.rank.select import DUPLICATE, MMR_PENALTY, REDUNDANT, SHORTLIST


@dataclass(frozen=True, slots=True)
class Corpus:
    """Per-edition paper matrices, built once: unit embeddings, BM25 weights, priors."""

    vectors: np.ndarray  # (papers, dim) float32, unit rows
    bm25: sparse.csr_matrix  # (papers, vocab): each paper's BM25 weight per term
    prior: np.ndarray  # (papers,) popularity/recency prior at weight 1
    similarity: np.ndarray  # (papers, papers) cosine, for MMR

    @classmethod
    def build(cls, vectors: np.ndarray, bm25: sparse.csr_matrix, prior: np.ndarray) -> Corpus:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        return cls(vectors, bm25.tocsr(), prior.astype(np.float32), vectors @ vectors.T)


@dataclass(frozen=True, slots=True)
class ProfileChunk:
    """A slice of subscribers: one unit vector each, their query terms and sent papers."""

    vectors: np.ndarray  # (n, dim) float32
    terms: sparse.csr_matrix | None  # (n, vocab) binary query terms, or None
    weight: np.ndarray  # (n,) popularity_weight
    exclude: sparse.csr_matrix | None  # (n, papers): nonzero where a paper was already sent


def _shortlist(corpus: Corpus, chunk: ProfileChunk) -> tuple[np.ndarray, np.ndarray]:
    """Per subscriber, the SHORTLIST best papers over the floor: (indices, scores), padded.

    Only pairs over the semantic floor can be picked, and there are few of them, so scores
    are computed for those pairs only instead of the whole (subscribers x papers) matrix.
    """
    n, m = len(chunk.vectors), corpus.vectors.shape[0]
    sem = chunk.vectors @ corpus.vectors.T
    if chunk.exclude is not None and chunk.exclude.nnz:
        ex = chunk.exclude.tocsr()
        sem[np.repeat(np.arange(n), np.diff(ex.indptr)), ex.indices] = -np.inf
    keys = np.flatnonzero(sem >= FLOOR)  # row * m + col, sorted: cheaper than 2-D nonzero
    rows, cols = np.divmod(keys, m)
    flat = sem.ravel()
    if chunk.terms is not None and len(keys):
        lex = chunk.terms @ corpus.bm25.T  # csr, one entry per (subscriber, paper) pair
        counts = np.diff(lex.indptr)
        top = np.zeros(n, dtype=np.float32)
        filled = counts > 0
        top[filled] = np.maximum.reduceat(lex.data, lex.indptr[:-1][filled])
        lex_rows = np.repeat(np.arange(n), counts)
        # The floor is already applied (keys), so the lexical bonus can go straight into the
        # dense block: a scatter and a gather instead of matching pairs up.
        flat[lex_rows.astype(np.int64) * m + lex.indices] += (
            LEXICAL_WEIGHT * lex.data / top[lex_rows]
        )
    score = flat[keys] + chunk.weight[rows] * corpus.prior[cols]
    del sem, flat
    # Sort by row, then score descending; keep each row's first SHORTLIST entries.
    order = np.argsort(rows * 16.0 - score, kind="stable")  # scores lie well within (-8, 8)
    rows, cols, score = rows[order], cols[order], score[order]
    starts = np.searchsorted(rows, np.arange(n))
    rank = np.arange(len(rows)) - starts[rows]
    keep = rank < SHORTLIST
    cand = np.full((n, SHORTLIST), -1, dtype=np.int64)
    cs = np.full((n, SHORTLIST), -np.inf, dtype=np.float32)
    cand[rows[keep], rank[keep]] = cols[keep]
    cs[rows[keep], rank[keep]] = score[keep]
    return cand, cs


def _mmr(corpus: Corpus, cand: np.ndarray, cs: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    n = cand.shape[0]
    safe = np.maximum(cand, 0)
    alive = np.isfinite(cs)
    redundancy = np.full(cs.shape, -1.0, dtype=np.float32)
    picks = np.full((n, k), -1, dtype=np.int32)
    picked = np.full((n, k), np.nan, dtype=np.float32)
    flat = np.arange(n)
    for step in range(k):
        mmr = cs - MMR_PENALTY * np.maximum(redundancy - REDUNDANT, 0)
        mmr[~alive] = -np.inf
        best = np.argmax(mmr, axis=1)
        has = alive[flat, best]
        picks[:, step] = np.where(has, cand[flat, best], -1)
        picked[:, step] = np.where(has, cs[flat, best], np.nan)
        alive[flat, best] = False
        # Similarity of the new pick to each candidate: one (n, width) gather per step,
        # not the full (n, width, width) block, which cost 10x more.
        near = corpus.similarity[safe[flat, best][:, None], safe]
        redundancy = np.where(has[:, None], np.maximum(redundancy, near), redundancy)
        alive &= ~(has[:, None] & (near >= DUPLICATE))
    return picks, picked


def rank_chunks(
    corpus: Corpus, chunks: Iterable[ProfileChunk], k: int = 10
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """For each chunk: (paper indices (n, k), scores (n, k)); -1/NaN pad a quiet week."""
    for chunk in chunks:
        yield _mmr(corpus, *_shortlist(corpus, chunk), k)

"""Batch ranking agrees with the one-subscriber path: floor, exclusions, MMR, quiet rows."""

from __future__ import annotations

import numpy as np
from scipy import sparse

from digest.rank.batch import Corpus, ProfileChunk, rank_chunks
from digest.rank.lexical import LexicalIndex
from digest.rank.ranker import FLOOR, LEXICAL_WEIGHT
from digest.rank.select import pick_top


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _setup(seed: int = 0):
    rng = np.random.default_rng(seed)
    centers = _unit(rng.normal(size=(4, 80)))
    topic = rng.integers(0, 4, 60)
    papers = _unit(centers[topic] + 0.5 * rng.normal(size=(60, 80)) / 9)
    papers[1] = papers[0]  # an exact duplicate, to exercise the near-duplicate cut
    texts = [f"topic{t} word{rng.integers(0, 20)} word{rng.integers(0, 20)}" for t in topic]
    index = LexicalIndex(texts)
    prior = rng.random(60).astype(np.float32) * 0.05
    corpus = Corpus.build(papers, index.bm25_matrix, prior)
    profiles = _unit(centers[rng.integers(0, 4, 12)] + 0.6 * rng.normal(size=(12, 80)) / 9)
    # Orthogonal to every paper (80 dims, 60 papers): nothing clears the floor, a quiet week.
    profiles[-1] = np.linalg.svd(papers)[2][-1]
    terms = index.query_terms([f"topic{i % 4} word{i}" for i in range(12)])
    sent = sparse.lil_matrix((12, 60), dtype=np.int8)
    sent[0, [0, 2, 3]] = 1
    chunk = ProfileChunk(profiles, terms.tocsr(), np.full(12, 1.0, np.float32), sent.tocsr())
    return corpus, chunk


def _one_by_one(corpus: Corpus, chunk: ProfileChunk, k: int) -> list[list[int]]:
    out = []
    for i in range(len(chunk.vectors)):
        sem = corpus.vectors @ chunk.vectors[i]
        lex = (corpus.bm25 @ chunk.terms.getrow(i).T).toarray().ravel()
        lex = lex / lex.max() if lex.max() > 0 else lex
        score = sem + LEXICAL_WEIGHT * lex + chunk.weight[i] * corpus.prior
        eligible = sem >= FLOOR
        eligible[chunk.exclude.getrow(i).indices] = False
        out.append(pick_top(score, eligible, corpus.vectors, k))
    return out


def test_batch_matches_single_subscriber_ranking_in_any_chunking() -> None:
    corpus, chunk = _setup()
    want = _one_by_one(corpus, chunk, 5)
    halves = [
        ProfileChunk(chunk.vectors[s], chunk.terms[s], chunk.weight[s], chunk.exclude[s])
        for s in (slice(0, 7), slice(7, 12))
    ]
    got = np.vstack([idx for idx, _ in rank_chunks(corpus, halves, k=5)])
    assert [list(row[row >= 0]) for row in got] == want


def test_batch_respects_exclusions_duplicates_and_quiet_weeks() -> None:
    corpus, chunk = _setup()
    idx, scores = next(rank_chunks(corpus, [chunk], k=5))
    assert not {0, 2, 3} & set(idx[0].tolist())
    assert all(not {0, 1} <= set(row.tolist()) for row in idx)  # duplicates never together
    assert (idx[-1] == -1).all() and np.isnan(scores[-1]).all()  # nothing over the floor

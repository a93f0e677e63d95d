"""Selection: MMR diversity, near-duplicate cut, eligibility (floor and exclusions)."""

from __future__ import annotations

import numpy as np

from digest.rank import embed_papers
from digest.rank.select import pick_top, pick_top_many


def _unit(rows: list[list[float]]) -> np.ndarray:
    m = np.array(rows, dtype=np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def test_near_duplicates_are_not_both_picked() -> None:
    vecs = _unit([[1, 0, 0], [1, 0.01, 0], [0, 1, 0], [0, 0, 1]])
    score = np.array([0.9, 0.89, 0.5, 0.4], dtype=np.float32)
    got = pick_top(score, np.ones(4, bool), vecs, k=3)
    assert got == [0, 2, 3]


def test_close_variants_yield_to_a_different_relevant_paper() -> None:
    # Paper 1 is a close variant of 0 (cosine 0.91, above REDUNDANT, below DUPLICATE):
    # it slightly outscores paper 2 on relevance but should come after it.
    vecs = _unit([[1, 0, 0], [0.91, 0.415, 0], [0, 0, 1]])
    score = np.array([0.6, 0.53, 0.5], dtype=np.float32)
    assert pick_top(score, np.ones(3, bool), vecs, k=3) == [0, 2, 1]


def test_same_topic_papers_keep_relevance_order() -> None:
    # Same-topic similarity, even close (0.8: two methods for one problem), is not
    # redundancy: order stays by score.
    vecs = _unit([[1, 0, 0], [0.8, 0.6, 0], [0, 0, 1]])
    score = np.array([0.6, 0.55, 0.5], dtype=np.float32)
    assert pick_top(score, np.ones(3, bool), vecs, k=3) == [0, 1, 2]


def test_ineligible_papers_are_never_picked_even_if_best() -> None:
    vecs = _unit([[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    score = np.array([0.99, 0.5, 0.4], dtype=np.float32)
    eligible = np.array([False, True, True])
    assert pick_top(score, eligible, vecs, k=3) == [1, 2]
    assert pick_top(score, np.zeros(3, bool), vecs, k=3) == []


def test_without_vectors_it_is_plain_top_k() -> None:
    score = np.array([0.1, 0.7, 0.3, 0.9], dtype=np.float32)
    assert pick_top(score, np.ones(4, bool), None, k=2) == [3, 1]
    assert pick_top(score, np.ones(4, bool), None, k=0) == []


def test_shortlist_keeps_the_best_of_a_large_pool() -> None:
    rng = np.random.default_rng(3)
    vecs = _unit(rng.normal(size=(500, 16)).tolist())
    score = rng.random(500).astype(np.float32)
    got = pick_top(score, np.ones(500, bool), vecs, k=5)
    assert got[0] == int(np.argmax(score))
    assert len(set(got)) == 5


def test_a_batch_picks_what_each_reader_picks_alone() -> None:
    # Real papers (bench/data listings, the tests' hashing encoder), with two re-posts (the
    # same vector: the duplicate cut), tied scores, readers with and without sub-interest
    # groups, a short shortlist, k = 0 and nothing eligible, in one batch.
    from tests.unit.rank_fixtures import CountingEmbedder
    from tests.unit.test_rank_batch import corpus

    week, _ = corpus()
    vectors = np.array(list(embed_papers(week, CountingEmbedder()).values()))[:, 0]  # whole-text rows
    vectors[7], vectors[9] = vectors[3], vectors[3]
    rng = np.random.default_rng(7)
    batch = []
    for reader in range(40):
        score = (vectors @ vectors[reader] + 0.05 * rng.random(len(vectors))).astype(np.float32)
        score[[3, 7, 9, 11]] = score[3]  # ties, some of them between re-posts
        eligible = rng.random(len(vectors)) < (0.1 if reader % 5 == 0 else 0.8)
        groups = rng.integers(0, 1 + reader % 3, len(vectors)) if reader % 2 else None
        batch.append((score, eligible, [10, 5, 0, 3, 150][reader % 5], groups))
    batch.append((batch[0][0], np.zeros(len(vectors), bool), 10, None))
    alone = [pick_top(s, e, vectors, k, groups=g) for s, e, k, g in batch]
    assert pick_top_many(batch, vectors) == alone
    assert any(len(p) > 10 for p in alone) and [] in alone

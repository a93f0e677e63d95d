"""Neighbour smoothing (score regularization over the paper kNN graph)."""

from __future__ import annotations

import numpy as np
import pytest

import digest.rank.smooth as smooth
from digest.rank.smooth import smooth_rows


def _unit(m: np.ndarray) -> np.ndarray:
    return (m / np.linalg.norm(m, axis=1, keepdims=True)).astype(np.float32)


def _reference(vectors: np.ndarray, k: int, alpha: float) -> np.ndarray:
    """The definition, one paper at a time: own row plus weighted mean of k nearest others."""
    out = []
    for i, row in enumerate(vectors):
        sims = [(float(row @ other), j) for j, other in enumerate(vectors) if j != i]
        sims.sort(reverse=True)
        near = [(max(s, 0.0), j) for s, j in sims[:k]]
        total = sum(w for w, _ in near)
        if total == 0:
            out.append(row)
            continue
        mean = sum(w * vectors[j] for w, j in near) / total
        out.append((1 - alpha) * row + alpha * mean)
    return np.array(out, dtype=np.float32)


@pytest.mark.parametrize("block", [1024, 7])  # 7: several similarity blocks
def test_rows_match_the_definition(monkeypatch: pytest.MonkeyPatch, block: int) -> None:
    monkeypatch.setattr(smooth, "_BLOCK", block)
    vecs = _unit(np.random.default_rng(5).normal(size=(40, 12)))
    assert np.allclose(smooth_rows(vecs, k=5, alpha=0.3), _reference(vecs, 5, 0.3), atol=1e-5)


def test_a_match_among_matching_neighbours_outranks_a_lone_one() -> None:
    # Two papers equally close to the query (cosine 0.5): one sits among five papers on the
    # query's topic, the other among five on something else. Smoothing separates them.
    rng = np.random.default_rng(0)
    dim = 32
    query = np.zeros(dim, np.float32)
    query[0] = 1
    topic, other = np.eye(dim, dtype=np.float32)[1], np.eye(dim, dtype=np.float32)[2]
    on_topic = _unit(0.6 * query + 0.8 * topic + 0.05 * rng.normal(size=(5, dim)))
    off_topic = _unit(0.8 * other + 0.05 * rng.normal(size=(5, dim)))
    a = _unit((0.5 * query + 0.866 * topic)[None])[0]
    b = _unit((0.5 * query + 0.866 * other)[None])[0]
    vecs = np.vstack([a, b, on_topic, off_topic])
    before = vecs @ query
    after = smooth_rows(vecs) @ query
    assert before[0] == pytest.approx(before[1], abs=1e-6)
    assert after[0] > after[1] + 0.1


def test_tiny_corpora_and_alpha_zero_are_left_alone() -> None:
    one = _unit(np.ones((1, 4)))
    assert smooth_rows(one) is one
    vecs = _unit(np.random.default_rng(1).normal(size=(6, 4)))
    assert smooth_rows(vecs, alpha=0.0) is vecs
    # Two papers: each is the other's only neighbour.
    two = _unit(np.array([[1.0, 0.2], [0.2, 1.0]]))
    got = smooth_rows(two, k=5, alpha=0.5)
    assert np.allclose(got[0], 0.5 * two[0] + 0.5 * two[1], atol=1e-6)

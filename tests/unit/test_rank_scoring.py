"""Each scoring component on its own: BM25, TF-IDF, Rocchio/logistic feedback, priors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from digest.models import Paper
from digest.rank.learned import learned_scores, logistic, rocchio
from digest.rank.lexical import LexicalIndex
from digest.rank.priors import popularity, prior_scores, recency
from digest.rank.semantic import interest_scores

DOCS = [
    "kv cache compression for long context inference",
    "mutation testing of python test suites",
    "galaxy clusters and weak lensing",
    "cache cache cache cache cache eviction policies for web servers",
]


def test_bm25_ranks_the_matching_document_first_and_ignores_unmatched() -> None:
    index = LexicalIndex(DOCS)
    scores = index.bm25(["long context kv cache"])[0]
    assert int(np.argmax(scores)) == 0
    assert scores[2] == 0.0  # no shared term, no score


def test_bm25_saturates_repeated_terms() -> None:
    # Five "cache"s must not beat a document matching more distinct query terms.
    index = LexicalIndex(DOCS)
    scores = index.bm25(["cache compression"])[0]
    assert scores[0] > scores[3] > 0


def test_tfidf_cosine_is_bounded_and_zero_without_overlap() -> None:
    scores = LexicalIndex(DOCS).tfidf(["weak lensing of galaxy clusters"])[0]
    assert 0.5 < scores[2] <= 1.0 + 1e-6
    assert scores[0] == 0.0


def test_shared_terms_lists_rarest_matches_first() -> None:
    index = LexicalIndex(DOCS)
    terms = index.shared_terms("compression of the cache", 0)
    assert terms == ["compression", "cache"]


def test_empty_vocabulary_scores_zero() -> None:
    index = LexicalIndex(["the and of", "a the"])
    assert index.empty
    assert index.bm25(["anything"]).shape == (1, 2)
    assert not index.bm25(["anything"]).any()


def _unit(*rows: list[float]) -> np.ndarray:
    m = np.array(rows, dtype=np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


PAPERS = _unit([1, 0, 0], [0.9, 0.1, 0], [0, 1, 0], [0, 0, 1])


def test_interest_scores_favour_the_best_single_interest() -> None:
    # Whole-profile vector sits between topics 0 and 1; the phrases are the topics.
    profile = _unit([1, 1, 0], [1, 0, 0], [0, 1, 0])
    s = interest_scores(profile, PAPERS)
    whole = profile[0] @ PAPERS.T
    assert s[0] > whole[0] and s[2] > whole[2]
    assert s[3] == 0.0


def test_rocchio_moves_towards_liked_and_away_from_disliked() -> None:
    interest = np.zeros(4, dtype=np.float32)
    liked = rocchio(interest, PAPERS[[2]], np.zeros((0, 3), np.float32), PAPERS)
    assert int(np.argmax(liked)) == 2
    disliked = rocchio(interest, np.zeros((0, 3), np.float32), PAPERS[[0]], PAPERS)
    assert disliked[0] < disliked[2]
    untouched = rocchio(interest, np.zeros((0, 3)), np.zeros((0, 3)), PAPERS)
    assert np.array_equal(untouched, interest)


def test_logistic_needs_enough_labels_then_separates() -> None:
    rng = np.random.default_rng(1)
    pos = _unit(*(np.array([1, 0, 0]) + 0.1 * rng.normal(size=(3, 3))).tolist())
    neg = _unit(*(np.array([0, 0, 1]) + 0.1 * rng.normal(size=(3, 3))).tolist())
    assert not logistic(pos[:2], neg, PAPERS).any()
    p = logistic(pos, neg, PAPERS)
    assert p[0] > 0 > p[3]
    both = learned_scores(np.zeros(4, np.float32), pos, neg, PAPERS)
    assert both[0] > both[3]


def _paper(pid: str, upvotes: int | None = None, published: datetime | None = None) -> Paper:
    return Paper(id=pid, title=pid, upvotes=upvotes, published=published)


def test_popularity_is_log_scaled_and_relative_to_the_top() -> None:
    pop = popularity([_paper("a", 0), _paper("b", 9), _paper("c", 99), _paper("d")])
    assert pop[2] == 1.0 and pop[0] == 0.0 and pop[3] == 0.0
    assert abs(pop[1] - 0.5) < 1e-6  # log(10)/log(100)
    assert not popularity([_paper("a"), _paper("b")]).any()


def test_recency_halves_each_week_and_is_neutral_without_a_date() -> None:
    now = datetime(2026, 6, 15, tzinfo=UTC)
    rec = recency(
        [_paper("a", published=now), _paper("b", published=now - timedelta(days=7)), _paper("c")],
        now,
    )
    assert np.allclose(rec, [1.0, 0.5, 0.5])


def test_prior_scales_with_the_subscriber_weight() -> None:
    now = datetime(2026, 6, 15, tzinfo=UTC)
    papers = [_paper("a", 100, now), _paper("b", 1, now - timedelta(days=30))]
    base = prior_scores(papers, now, 1.0)
    assert base[0] > base[1] > 0
    assert np.allclose(prior_scores(papers, now, 2.0), 2 * base)
    assert not prior_scores(papers, now, 0.0).any()

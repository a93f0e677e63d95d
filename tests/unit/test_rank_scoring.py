"""Each scoring component on its own: BM25, TF-IDF, Rocchio/logistic feedback, priors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from digest.models import Paper
from digest.rank import embed_papers
from digest.rank.learned import logistic, rocchio
from digest.rank.lexical import LexicalIndex
from digest.rank.priors import popularity, prior_scores, recency
from tests.unit.rank_fixtures import CountingEmbedder

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


def test_coverage_rewards_specific_shared_words_not_generic_ones() -> None:
    docs = [f"language models {w}" for w in ("mamba state space", "testing", "galaxy", "proteins")]
    index = LexicalIndex(docs)
    cov = index.coverage(["Mamba language models"])[0]
    # Every paper shares "language models"; only one shares "Mamba", the telling word.
    assert cov[0] > 0.6
    assert max(cov[1:]) < 0.2  # BM25 IDF: 0.105 for a word in all 4 papers, 1.2 in one
    # A word no paper uses stays in the profile's mass: nothing covers the whole phrase.
    assert index.coverage(["Mamba chatbots"])[0][0] < 0.6
    assert not index.coverage(["the of and"]).any()


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


def test_rocchio_moves_only_the_sub_interest_a_liked_paper_served() -> None:
    interests = _unit([1, 0.2, 0], [0, 0.2, 1])  # two sides: near topic 0 and near topic 2
    liked = rocchio(interests, PAPERS[[1]], np.zeros((0, 3), np.float32))  # a topic-0 paper
    assert float(liked[0] @ PAPERS[1]) > float(interests[0] @ PAPERS[1])
    assert np.allclose(liked[1], interests[1])  # the other side is untouched


def test_rocchio_dislike_pushes_away_without_erasing_the_sub_interest() -> None:
    interests = _unit([1, 0.3, 0])
    pushed = rocchio(interests, np.zeros((0, 3), np.float32), PAPERS[[0]])
    assert float(pushed[0] @ PAPERS[0]) < float(interests[0] @ PAPERS[0])
    assert float(pushed[0] @ interests[0]) > 0.9  # still the same interest
    untouched = rocchio(interests, np.zeros((0, 3)), np.zeros((0, 3)))
    assert np.allclose(untouched, interests)


def test_logistic_needs_enough_labels_then_separates() -> None:
    rng = np.random.default_rng(1)
    pos = _unit(*(np.array([1, 0, 0]) + 0.1 * rng.normal(size=(3, 3))).tolist())
    neg = _unit(*(np.array([0, 0, 1]) + 0.1 * rng.normal(size=(3, 3))).tolist())
    assert not logistic(pos[:2], neg, PAPERS).any()
    p = logistic(pos, neg, PAPERS)
    assert p[0] > 0 > p[3]


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


def test_logistic_gives_scikit_learns_own_probabilities_on_real_papers() -> None:
    # The fast path skips only scikit-learn's input checks: its numbers must be exactly
    # those of the checked fit + predict_proba, classes balanced or not.
    from sklearn.linear_model import LogisticRegression

    from tests.unit.test_rank_batch import corpus

    week, _ = corpus()
    vectors = np.array(list(embed_papers(week, CountingEmbedder()).values()))
    for liked, disliked in (([0, 1, 2], [10, 11, 12]), ([3, 4, 5, 6, 7], [40, 41, 42])):
        pos, neg = vectors[liked], vectors[disliked]
        model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=200).fit(
            np.vstack([pos, neg]), np.r_[np.ones(len(pos)), np.zeros(len(neg))])
        expected = (2 * model.predict_proba(vectors)[:, 1] - 1).astype(np.float32)
        assert np.array_equal(logistic(pos, neg, vectors), expected)


def test_logistic_falls_back_to_the_estimator_when_the_private_objective_moved(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast path calls scikit-learn's private loss; a release that changed its call must
    cost speed, not an edition."""
    import digest.rank.learned as learned

    class Moved:
        def loss_gradient(self, coef: np.ndarray) -> None:  # another signature
            raise AssertionError("not reached")

    rng = np.random.default_rng(7)
    rows = rng.normal(size=(20, 8)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    expected = logistic(rows[:3], rows[3:6], rows)
    monkeypatch.setattr(learned, "_LOSS", Moved())
    assert np.array_equal(logistic(rows[:3], rows[3:6], rows), expected)


def test_expansion_takes_each_rows_best_papers_as_partitioning_does_ties_included() -> None:
    # Real papers (bench/data, the tests' hashing encoder) and three re-posts with the same
    # vector, so some rows have ties among their best: the fast top-k must give the rows,
    # and their order, that partitioning gives (ties falling as they always did).
    from digest.rank.cosine import _best, _partitioned
    from tests.unit.test_rank_batch import corpus

    week, _ = corpus()
    vectors = np.array(list(embed_papers(week, CountingEmbedder()).values()))
    vectors[[20, 30, 40]] = vectors[5]
    sims = np.vstack([vectors[:60], vectors[[5, 20]] + 0.01]) @ vectors.T
    sims = np.vstack([sims, np.round(sims[:20], 1)])  # and rows where most best ones tie
    assert (np.sort(sims, axis=1)[:, -4:-1] == np.sort(sims, axis=1)[:, -3:]).any()  # ties
    for k in (1, 3):
        assert np.array_equal(_best(sims, k), _partitioned(sims, k))

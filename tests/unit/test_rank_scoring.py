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


def _objective(pos: np.ndarray, neg: np.ndarray) -> tuple[object, np.ndarray, np.ndarray,
                                                          np.ndarray, float]:
    """scikit-learn's own objective for LogisticRegression(C=1, class_weight="balanced"),
    as its lbfgs path builds it (sklearn.linear_model._logistic_regression_path)."""
    from sklearn._loss.loss import HalfBinomialLoss
    from sklearn.linear_model._linear_loss import LinearModelLoss

    x = np.vstack([pos, neg]).astype(np.float64)
    y = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
    weight = (len(x) / (2.0 * np.array([len(neg), len(pos)])))[y.astype(np.intp)]
    loss = LinearModelLoss(base_loss=HalfBinomialLoss(), fit_intercept=True)
    return loss, x, y, weight, 1.0 / float(weight.sum())


def _cases() -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    from tests.unit.test_rank_batch import corpus

    week, _ = corpus()
    vectors = np.array(list(embed_papers(week, CountingEmbedder()).values()))[:, 0]  # whole-text rows
    rng = np.random.default_rng(11)
    picks = [([0, 1, 2], [10, 11, 12]), ([3, 4, 5, 6, 7], [40, 41, 42])]
    for _ in range(8):  # balanced or not, up to a dozen of each
        liked, disliked = rng.integers(3, 13), rng.integers(3, 13)
        rows = rng.choice(len(vectors), liked + disliked, replace=False)
        picks.append((list(rows[:liked]), list(rows[liked:])))
    return [(vectors[a], vectors[b], vectors) for a, b in picks]


def test_logistic_is_scikit_learns_regression_solved_to_its_optimum_on_real_papers() -> None:
    # The objective is scikit-learn's own (C=1, balanced classes); the fit must be its
    # minimum: a gradient of ~0 under scikit-learn's loss_gradient (its estimator's lbfgs
    # stops at gtol=1e-4), and probabilities within a hair of what the estimator predicts.
    from sklearn.linear_model import LogisticRegression

    from digest.rank.learned import fit_logistic

    for pos, neg, vectors in _cases():
        coef, intercept = fit_logistic(np.vstack([pos, neg]), len(pos))
        loss, x, y, weight, l2 = _objective(pos, neg)
        _, gradient = loss.loss_gradient(np.r_[coef, intercept], x, y, weight, l2, 1)
        assert np.abs(gradient).max() < 1e-9
        model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=200).fit(
            x, y)
        _, theirs = loss.loss_gradient(np.r_[model.coef_[0], model.intercept_], x, y, weight,
                                       l2, 1)
        assert np.abs(gradient).max() <= np.abs(theirs).max()
        expected = 2 * model.predict_proba(vectors)[:, 1] - 1
        assert np.allclose(logistic(pos, neg, vectors), expected, atol=5e-3)


def test_logistic_with_more_labels_than_dimensions_is_still_the_optimum(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A reader with a long history: more liked and disliked papers (up to 125) than the vectors have
    # dimensions (64 here, 384 for MiniLM), where the fit leaves the rows' span for w itself.
    # Still scikit-learn's optimum, and the same answer the span gives just below the switch.
    from digest.rank.learned import fit_logistic
    from tests.unit.test_rank_batch import corpus

    week, old = corpus()
    vectors = np.array(list(embed_papers(week + old, CountingEmbedder()).values()))[:, 0]  # whole-text rows
    rng = np.random.default_rng(5)
    for liked, disliked in ((80, 45), (15, 100), (40, 26), (33, 33)):
        rows = rng.choice(len(vectors), liked + disliked, replace=False)
        pos, neg = vectors[rows[:liked]], vectors[rows[liked:]]
        coef, intercept = fit_logistic(np.vstack([pos, neg]), liked)
        loss, x, y, weight, l2 = _objective(pos, neg)
        _, gradient = loss.loss_gradient(np.r_[coef, intercept], x, y, weight, l2, 1)
        assert np.abs(gradient).max() < 1e-9, (liked, disliked)
    # and the cost follows the smaller side: no Newton system larger than d + 1 (one of
    # n + 1 made 2,000 labels cost 0.9 s a fit, n^3).
    solved: list[int] = []
    solve = np.linalg.solve
    monkeypatch.setattr(np.linalg, "solve", lambda a, b: solved.append(len(a)) or solve(a, b))
    fit_logistic(vectors[:125], 60)
    assert solved and max(solved) <= vectors.shape[1] + 1
    # The same regression posed both ways: 50 rows in a 40-dimensional basis q (n > d, solved
    # in w) and the same rows embedded back in 64 dimensions (n <= d, solved in the span). An
    # isometry changes nothing, so the weights must map onto each other and the intercepts agree.
    q, _ = np.linalg.qr(rng.normal(size=(64, 40)))
    small = vectors[rng.choice(len(vectors), 50, replace=False)] @ q
    w_small, b_small = fit_logistic(small, 20)
    w_wide, b_wide = fit_logistic(small @ q.T, 20)
    assert np.allclose(q @ w_small, w_wide, atol=1e-8) and abs(b_small - b_wide) < 1e-8


def test_logistic_refuses_a_single_class() -> None:
    from digest.rank.learned import fit_logistic

    with pytest.raises(ValueError, match="liked and disliked"):
        fit_logistic(np.eye(4), 4)
    with pytest.raises(ValueError, match="liked and disliked"):
        fit_logistic(np.eye(4), 0)


def test_expansion_takes_each_rows_best_papers_as_partitioning_does_ties_included() -> None:
    # Real papers (bench/data, the tests' hashing encoder) and three re-posts with the same
    # vector, so some rows have ties among their best: the fast top-k must give the rows,
    # and their order, that partitioning gives (ties falling as they always did).
    from digest.rank.cosine import _best, _partitioned
    from tests.unit.test_rank_batch import corpus

    week, _ = corpus()
    vectors = np.array(list(embed_papers(week, CountingEmbedder()).values()))[:, 0]  # whole-text rows
    vectors[[20, 30, 40]] = vectors[5]
    sims = np.vstack([vectors[:60], vectors[[5, 20]] + 0.01]) @ vectors.T
    sims = np.vstack([sims, np.round(sims[:20], 1)])  # and rows where most best ones tie
    assert (np.sort(sims, axis=1)[:, -4:-1] == np.sort(sims, axis=1)[:, -3:]).any()  # ties
    for k in (1, 3):
        assert np.array_equal(_best(sims, k), _partitioned(sims, k))

"""Per-subscriber learning from feedback: Rocchio within the sub-interest each liked or disliked
paper served, plus logistic regression once there are enough thumbs up and down to fit one.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

try:  # scikit-learn's own objective for LogisticRegression's lbfgs solver (see _fit)
    from sklearn._loss.loss import HalfBinomialLoss
    from sklearn.linear_model._linear_loss import LinearModelLoss

    _LOSS: LinearModelLoss | None = LinearModelLoss(base_loss=HalfBinomialLoss(),
                                                    fit_intercept=True)
except ImportError:  # another layout of its private modules: the public estimator
    _LOSS = None

BETA = 0.75  # Rocchio's textbook weights (Manning et al., IR book 9.1.1), not tuned here
GAMMA = 0.25
MIN_PER_CLASS = 3  # below this a regression just memorizes the few examples
LR_WEIGHT = 0.2


def rocchio(
    interests: np.ndarray, positives: np.ndarray, negatives: np.ndarray
) -> np.ndarray:
    """Move each sub-interest toward the liked papers it served and away from the disliked ones.

    ``interests`` (m, d) unit rows, one per sub-interest; each feedback paper is credited to
    the sub-interest it is closest to, so a like on one side of a two-sided reader leaves the
    other side's vector alone (a single pulled vector made the liked paper ~43% of every score
    and pushed the other side out of the top 10: issue 17). Textbook Rocchio per sub-interest
    (q' = q + BETA * mean(liked) - GAMMA * mean(disliked)), renormalized so every sub-interest
    still scores in cosine units; with GAMMA < 1 a dislike never erases the sub-interest
    (q . q' stays positive). Returns the new (m, d) unit rows.
    """
    out = np.asarray(interests, dtype=np.float32).copy()
    if len(out) == 0:
        return out
    for rows, weight in ((positives, BETA), (negatives, -GAMMA)):
        if len(rows) == 0:
            continue
        served = np.argmax(rows @ interests.T, axis=1)
        for j in np.unique(served):
            out[j] += weight * rows[served == j].mean(axis=0)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    unit: np.ndarray = out / np.maximum(norms, 1e-12)  # Any in numpy's stubs
    return unit.astype(np.float32)


def logistic(positives: np.ndarray, negatives: np.ndarray, papers: np.ndarray) -> np.ndarray:
    """A centred probability (-1..1) from a per-subscriber regression, or zeros if too few labels.

    ``positives``/``negatives`` (n, d) and ``papers`` (papers, d) float32 unit rows; returns
    (papers,) float32: 2 * P(liked) - 1 of scikit-learn's LogisticRegression (lbfgs, C=1,
    balanced classes), fitted on the liked and disliked rows.
    """
    if len(positives) < MIN_PER_CLASS or len(negatives) < MIN_PER_CLASS:
        return np.zeros(papers.shape[0], dtype=np.float32)
    x = np.vstack([positives, negatives])
    try:
        if _LOSS is None:
            raise TypeError("no private objective")
        coef, intercept = _fit(x, len(positives))
    except (TypeError, AttributeError):
        # A scikit-learn whose private objective is called another way (pyproject allows
        # >= 1.4): the public estimator, slower, never a failed edition.
        model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=200)
        model.fit(x, np.r_[np.ones(len(positives)), np.zeros(len(negatives))])
        return np.asarray(2 * model.predict_proba(papers)[:, 1] - 1, dtype=np.float32)
    # predict_proba of two classes: the expit of X @ coef_.T + intercept_ (its decision function)
    positive = expit(papers @ coef[None, :].T + intercept).ravel()
    return np.asarray(2 * positive - 1, dtype=np.float32)


def _fit(x: np.ndarray, liked: int) -> tuple[np.ndarray, np.ndarray]:
    """(coef_ (d,), intercept_ (1,)) exactly as ``LogisticRegression(C=1.0,
    class_weight="balanced", max_iter=200).fit`` makes them for rows ``x``, the first
    ``liked`` of them liked: the same objective, weights, start and L-BFGS-B options
    (sklearn.linear_model._logistic_regression_path), without the estimator's input checks
    and bookkeeping, which were 3/4 of a fit: 3.7 ms -> 1.0 ms a reader with feedback, same
    bits (bench/edition.py's vectors, one BLAS thread; tests/unit/test_rank_scoring.py
    holds the estimator's own output to it)."""
    assert _LOSS is not None
    n = len(x)
    target = np.r_[np.ones(liked), np.zeros(n - liked)].astype(x.dtype)
    # class_weight="balanced": n / (classes * count of the class), in the rows' dtype
    share = n / (2 * np.array([n - liked, liked], dtype=np.float64))
    weight = np.ones(n, dtype=x.dtype)
    weight *= np.asarray(share[target.astype(np.intp)], dtype=x.dtype)
    l2 = 1.0 / (1.0 * float(np.sum(weight)))  # 1 / (C * sum of weights)
    found = optimize.minimize(
        _LOSS.loss_gradient, np.zeros(x.shape[1] + 1, dtype=x.dtype), method="L-BFGS-B",
        jac=True, args=(x, target, weight, l2, 1),
        options={"maxiter": 200, "maxls": 50, "gtol": 1e-4, "ftol": 64 * np.finfo(float).eps})
    w = np.asarray(found.x, dtype=x.dtype)
    return w[:-1], w[-1:]

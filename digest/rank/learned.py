"""Per-subscriber learning from feedback: Rocchio within the sub-interest each liked or disliked
paper served, plus logistic regression once there are enough thumbs up and down to fit one.
"""

from __future__ import annotations

import numpy as np

BETA = 0.75  # Rocchio's textbook weights (Manning et al., IR book 9.1.1), not tuned here
GAMMA = 0.25
MIN_PER_CLASS = 3  # below this a regression just memorizes the few examples
LR_WEIGHT = 0.2
# Unit rows (sentence vectors) converge in 5-9 steps, rows of norm 30-300 in 10-16 (a
# breaker's 10,000 fits); only norms of ~1,000+ reach the cap, still at the optimum to 1e-11.
NEWTON_STEPS = 50


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
    (papers,) float32: 2 * P(liked) - 1 under the regression :func:`fit_logistic` fits on the
    liked and disliked rows.
    """
    if len(positives) < MIN_PER_CLASS or len(negatives) < MIN_PER_CLASS:
        return np.zeros(papers.shape[0], dtype=np.float32)
    coef, intercept = fit_logistic(np.vstack([positives, negatives]), len(positives))
    margin = papers @ coef.astype(papers.dtype) + intercept  # no float64 copy of the pool
    return np.asarray(2 * _sigmoid(margin) - 1, dtype=np.float32)


def fit_logistic(x: np.ndarray, liked: int) -> tuple[np.ndarray, float]:
    """(coef (d,) float64, intercept) minimizing scikit-learn's objective for
    ``LogisticRegression(C=1.0, class_weight="balanced")`` on rows ``x`` (n, d), the first
    ``liked`` of them liked, the rest disliked: sum_i s_i * logloss_i + ||w||^2 / 2, s_i the
    balanced class weight n / (2 * count of i's class), the intercept not penalized.

    Solved by Newton's method with a backtracking line search, in whichever space is smaller:
    the span of the rows (the representer theorem: w = x.T @ a, n + 1 unknowns) while n <= d,
    else w itself (d + 1 unknowns), so a reader with thousands of labels costs n * d^2 a step,
    not n^3 (2,000 labels: 0.9 s a fit in the span alone). It stops at a gradient under
    1e-10 of its starting size, the optimum itself, where the estimator's lbfgs stops at
    gtol=1e-4 (tests/unit/test_rank_scoring.py checks both under scikit-learn's own
    loss_gradient). Measured (bench/edition.py's 20,000 readers, one in ten with 6 labels):
    1.3 ms a fit with scipy's L-BFGS-B over scikit-learn's private loss (11% of planning,
    cProfile), 0.15-0.3 ms here.
    Raises ValueError unless both classes have a row."""
    rows = np.asarray(x, dtype=np.float64)
    n = len(rows)
    if not 0 < liked < n:
        raise ValueError(f"fit_logistic needs liked and disliked rows, got {liked} of {n} liked")
    target = np.r_[np.ones(liked), np.zeros(n - liked)]
    weight = (n / (2.0 * np.array([n - liked, liked])))[target.astype(np.intp)]
    if n > rows.shape[1]:
        return _newton(rows, target, weight, gram=None)
    a, b = _newton(rows, target, weight, gram=rows @ rows.T)
    return rows.T @ a, b


def _newton(
    rows: np.ndarray, target: np.ndarray, weight: np.ndarray, *, gram: np.ndarray | None
) -> tuple[np.ndarray, float]:
    """Newton's method for fit_logistic over u: margins z = design @ u + b, penalty u.Q.u / 2.

    With ``gram`` (the rows' span): design = Q = G = rows @ rows.T, u the rows' coefficients.
    G is singular when rows repeat, so the step solves the system with G factored out of the
    Hessian G(CG + I) and of the gradient G(u + r); w's gradient is rows.T(u + r). Without:
    design = rows, Q = I, u = w: Hessian rows.T C rows + I, gradient rows.T r + u.
    Returns (u, b)."""
    design = rows if gram is None else gram
    k = design.shape[1]

    def objective(u: np.ndarray, b: float) -> tuple[float, np.ndarray]:
        z = design @ u + b
        data = np.sum(weight * (np.logaddexp(0.0, z) - target * z))
        return float(data + 0.5 * u @ (u if gram is None else gram @ u)), z

    u, b = np.zeros(k), 0.0
    value, z = objective(u, b)
    tolerance = 0.0
    for _ in range(NEWTON_STEPS):
        p = _sigmoid(z)
        residual = weight * (p - target)
        curve = weight * p * (1 - p)
        system = np.empty((k + 1, k + 1))
        system[k, k] = curve.sum()
        if gram is not None:
            direction = u + residual
            gradient = np.r_[rows.T @ direction, residual.sum()]
            system[:k, :k] = np.eye(k) + curve[:, None] * gram
            system[:k, k] = curve
            system[k, :k] = curve @ gram
            rhs, slope_of = np.r_[direction, residual.sum()], np.r_[gram @ direction, residual.sum()]
        else:
            gradient = np.r_[rows.T @ residual + u, residual.sum()]
            system[:k, :k] = rows.T @ (curve[:, None] * rows) + np.eye(k)
            system[:k, k] = system[k, :k] = rows.T @ curve
            rhs = slope_of = gradient
        size = float(np.abs(gradient).max())
        if tolerance == 0.0:
            tolerance = 1e-10 * max(1.0, size)  # relative to the start's gradient
        if size < tolerance:
            break
        step = np.linalg.solve(system, -rhs)
        slope = float(slope_of @ step)
        # Armijo backtracking (the objective is convex: a full step nearly always does). The
        # allowance of 1e-12 of the value lets the last step, whose decrease is below
        # float64 rounding, pass at once instead of after 27 halvings.
        allowance = 1e-12 * max(1.0, abs(value))
        t = 1.0
        new_value, new_z = objective(u + step[:k], b + float(step[k]))
        while new_value > value + 1e-4 * t * slope + allowance:
            t /= 2
            if t < 1e-8:  # no step lowers the objective: u is as good as float64 allows
                return u, b
            new_value, new_z = objective(u + t * step[:k], b + t * float(step[k]))
        u, b, value, z = u + t * step[:k], b + t * float(step[k]), new_value, new_z
    return u, b


def _sigmoid(z: np.ndarray) -> np.ndarray:
    out: np.ndarray = 0.5 * (1.0 + np.tanh(0.5 * z))  # expit without overflow warnings
    return out

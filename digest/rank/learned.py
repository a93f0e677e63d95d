"""Per-subscriber learning from feedback: Rocchio within the sub-interest each liked or disliked
paper served, plus logistic regression once there are enough thumbs up and down to fit one.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

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
    """A centred probability (-1..1) from a per-subscriber regression, or zeros if too few labels."""
    if len(positives) < MIN_PER_CLASS or len(negatives) < MIN_PER_CLASS:
        return np.zeros(papers.shape[0], dtype=np.float32)
    x = np.vstack([positives, negatives])
    y = np.r_[np.ones(len(positives)), np.zeros(len(negatives))]
    model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=200)
    model.fit(x, y)
    return np.asarray(2 * model.predict_proba(papers)[:, 1] - 1, dtype=np.float32)

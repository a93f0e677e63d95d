"""Per-subscriber learning from feedback: Rocchio over embeddings, plus logistic regression
once there are enough thumbs up and down to fit one.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

BETA = 0.75  # Rocchio's textbook weights (Manning et al., IR book 9.1.1), not tuned here
GAMMA = 0.25
MIN_PER_CLASS = 3  # below this a regression just memorizes the few examples
LR_WEIGHT = 0.2


def rocchio(
    interest: np.ndarray, positives: np.ndarray, negatives: np.ndarray, papers: np.ndarray
) -> np.ndarray:
    """Move the interest scores toward papers like the liked ones and away from disliked ones.

    Nearest neighbour rather than centroid: a reader who liked two unrelated papers wants
    more of each, not papers halfway between.
    """
    score = interest.astype(np.float32)
    if len(positives):
        pos = (positives @ papers.T).max(axis=0)
        score = (score + BETA * pos) / (1 + BETA)
    if len(negatives):
        score = score - GAMMA * (negatives @ papers.T).max(axis=0)
    return score


def logistic(positives: np.ndarray, negatives: np.ndarray, papers: np.ndarray) -> np.ndarray:
    """A centred probability (-1..1) from a per-subscriber regression, or zeros if too few labels."""
    if len(positives) < MIN_PER_CLASS or len(negatives) < MIN_PER_CLASS:
        return np.zeros(papers.shape[0], dtype=np.float32)
    x = np.vstack([positives, negatives])
    y = np.r_[np.ones(len(positives)), np.zeros(len(negatives))]
    model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=200)
    model.fit(x, y)
    return np.asarray(2 * model.predict_proba(papers)[:, 1] - 1, dtype=np.float32)


def learned_scores(
    interest: np.ndarray, positives: np.ndarray, negatives: np.ndarray, papers: np.ndarray
) -> np.ndarray:
    """Interest scores adjusted by whatever feedback the subscriber has given."""
    return rocchio(interest, positives, negatives, papers) + LR_WEIGHT * logistic(
        positives, negatives, papers
    )

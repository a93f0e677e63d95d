"""A paper's title row (issue 17): the title says what a paper is about in a dozen words, so
the order reads it alongside the title + abstract vector. Checked on the real seed papers with
the shipped encoder against people's grades (bench/data/rank_judgments_seeds.json: graded
before any ranker ran), on the tuning profiles only; the held-out ones stay unread here."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from digest.app.rank import read_feed_files
from digest.models import Profile
from digest.rank import Ranker, build_ranker, default_embedder
from tests.unit.rank_fixtures import NOW

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds" / "arxiv_seed.xml"
JUDGED = ROOT / "bench" / "data" / "rank_judgments_seeds.json"


def ndcg_at(ranked: list[str], grades: dict[str, int], k: int) -> float:
    """nDCG@k with gain 2^grade - 1 (Järvelin & Kekäläinen 2002; Burges et al. 2005)."""
    def dcg(gains: list[int]) -> float:
        return sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(gains[:k]))
    ideal = dcg(sorted(grades.values(), reverse=True))
    return dcg([grades.get(pid, 0) for pid in ranked]) / ideal if ideal else 0.0


@pytest.fixture(scope="module")
def ranker() -> Ranker:
    return build_ranker(read_feed_files([SEEDS]).papers)


def _tuning() -> list[tuple[str, dict[str, int]]]:
    spec = json.loads(JUDGED.read_text())
    return [(p["interests"], {k: int(v) for k, v in p["judgments"].items()})
            for p in spec["profiles"] if not p.get("heldout")]


def _mean_ndcg(ranker: Ranker, k: int = 5) -> float:
    scores = []
    for text, grades in _tuning():
        ranked = [p.paper.id for p in ranker.rank(Profile(interests=text), now=NOW, k=10).picks]
        scores.append(ndcg_at(ranked, grades, k))
    return float(np.mean(scores))


def test_each_paper_has_its_title_row_from_the_shipped_encoder(ranker: Ranker) -> None:
    encoder = default_embedder()
    assert encoder is not None and ranker.titles is not None
    assert ranker.titles.shape == ranker.vectors.shape  # type: ignore[union-attr]
    alone = encoder.embed([ranker.papers[7].title])[0]
    assert float(alone @ ranker.titles[7]) > 0.9999


def test_title_rows_lift_the_judged_order_on_the_seed_papers(ranker: Ranker) -> None:
    # nDCG@5 over the 23 tuning profiles: 0.768 before title rows (issue 17's measurement);
    # the bar is the judged order being clearly better, not this ranker's exact figure.
    with_titles = _mean_ndcg(ranker)
    assert with_titles >= 0.78
    titles, ranker.titles = ranker.titles, None
    try:
        without = _mean_ndcg(ranker)
    finally:
        ranker.titles = titles
    assert with_titles >= without + 0.01

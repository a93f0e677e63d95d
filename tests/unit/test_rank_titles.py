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


def test_title_evidence_keeps_scores_in_cosine_units() -> None:
    # The floor, the word bonus (at most 0.1) and the priors are all on the cosine scale, so
    # the order's cosine must stay one: a paper whose text and title both point exactly where
    # the reader does scores 1, not 1 + TITLE_WEIGHT.
    from digest.rank.cosine import Query, cosines

    v = np.zeros(8, np.float32)
    v[0] = 1.0
    got = cosines([Query(v, v[None], False)], v[None], titles=v[None])[0]
    assert float(got.score[0]) == pytest.approx(1.0) and float(got.own[0]) == pytest.approx(1.0)


def test_stored_whole_rows_get_their_titles_beside_papers_encoded_whole() -> None:
    # A batch mixing a paper stored before title rows (whole row only) and a new paper: each
    # row lands with its own paper (hashing encoder: a row is its text's own vector).
    from digest.models import Paper
    from digest.rank.semantic import paper_matrix
    from tests.unit.rank_fixtures import CountingEmbedder

    old = Paper(id="old", title="Protein inverse folding", abstract="design amino acid sequences")
    new = Paper(id="new", title="KV cache offloading", abstract="long context inference memory")
    enc = CountingEmbedder()
    stored = enc.embed(["Protein inverse folding. design amino acid sequences"])[0]
    rows = paper_matrix([new, old], enc, {"old": stored})
    assert rows is not None and rows.shape == (2, 2, 64)
    expect = enc.embed(["KV cache offloading. long context inference memory",
                        "KV cache offloading", "Protein inverse folding"])
    assert np.allclose(rows[0, 0], expect[0]) and np.allclose(rows[0, 1], expect[1])
    assert np.allclose(rows[1, 0], stored) and np.allclose(rows[1, 1], expect[2])

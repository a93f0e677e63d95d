"""The excerpt says what a paper contributes, on real abstracts (the product's seed feed, an HF
daily-papers capture in bench/data and the cs.AI day in ../shared/realdata).

Expected sentences were chosen by reading each abstract, before the excerpt code was written.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from digest.app.rank import read_feed_files
from digest.models import Paper
from digest.render.fields import excerpt

ROOT = Path(__file__).resolve().parents[2]
_SENTENCES = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")  # as the abstract's own text splits
LIMIT = 420  # what the digest template shows today (render/context.py passes the default)


def _papers(path: Path) -> dict[str, Paper]:
    return {p.id: p for p in read_feed_files([path]).papers}


@pytest.fixture(scope="module")
def seeds() -> dict[str, Paper]:
    return _papers(ROOT / "seeds" / "arxiv_seed.xml")


@pytest.mark.parametrize(
    ("pid", "contribution", "background"),
    [
        # LM-Infinite opens with six sentences of background before "we propose".
        ("2308.16137", "we propose a simple yet effective solution for on-the-fly length",
         "In recent years"),
        ("2402.09363", "We here propose to use copyright traps", "Questions of fair use"),
        ("2410.21465", "We present ShadowKV", "With the widespread deployment"),
        ("2412.04318", "a process we refer to as hyperfitting", "it is well-documented"),
    ],
)
def test_excerpt_is_the_contribution_not_the_opening(seeds: dict[str, Paper], pid: str,
                                                     contribution: str, background: str) -> None:
    got = excerpt(seeds[pid].abstract)
    assert contribution in got
    assert background not in got
    assert len(got) <= LIMIT


def test_a_results_sentence_with_numbers_joins_the_contribution_when_it_fits(
        seeds: dict[str, Paper]) -> None:
    # Copyright Traps: "... can be reliably detected (AUC=0.75) and used as copyright traps."
    got = excerpt(seeds["2402.09363"].abstract)
    assert "We here propose to use copyright traps" in got and "(AUC=0.75)" in got
    # LM-Infinite's "2.72x decoding speedup" sentence would make 457 characters: over the limit.
    assert len(excerpt(seeds["2308.16137"].abstract)) <= LIMIT


def test_every_seed_excerpt_is_one_or_two_whole_sentences_within_the_limit(
        seeds: dict[str, Paper]) -> None:
    for paper in seeds.values():
        got = excerpt(paper.abstract)
        assert 0 < len(got) <= LIMIT, paper.id
        if not got.endswith("…"):  # whole sentences of the abstract, in its order
            text = " ".join(paper.abstract.split())
            parts = [s for s in _SENTENCES.split(got) if s]
            assert 1 <= len(parts) <= 2, paper.id
            assert all(s in text for s in parts), paper.id
            assert [text.index(s) for s in parts] == sorted(text.index(s) for s in parts)


def test_the_sources_own_summary_wins_when_there_is_one() -> None:
    hf = _papers(ROOT / "bench" / "data" / "hf_daily_papers_2026-06-12.json")
    paper = hf["2606.00467"]
    assert paper.summary
    got = excerpt(paper.abstract, paper.summary)
    assert got.startswith("Large language models exhibit limited ability to correct zero-shot")


def test_code_links_are_not_an_excerpt(seeds: dict[str, Paper]) -> None:
    assert "github.com" not in excerpt(seeds["2410.21465"].abstract)

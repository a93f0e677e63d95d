"""Reasons cite what the reader wrote and the paper really holds (a breaker's report on
issue 17: "matches: build" for a sentence about leaked benchmarks, "matches: LLM evaluation"
for a paper holding "LLM" and "evaluation" apart, "matches: Mamba, Mamba")."""

from __future__ import annotations

from digest.models import Profile
from digest.rank import build_ranker
from digest.rank.lexical import LexicalIndex, paper_text
from digest.rank.profile import parse_profile
from digest.rank.reasons import reader_words, reasons_for
from tests.unit.rank_fixtures import NOW, paper

FILLER = [
    paper(f"2601.1{i:04d}", title, abstract)
    for i, (title, abstract) in enumerate([
        ("Coral reef monitoring", "We survey coral reefs with underwater drones."),
        ("Glacier retreat", "Satellite images show glaciers shrinking across the Alps."),
        ("Bird migration", "Radar tracks songbirds crossing the Mediterranean at night."),
        ("Soil microbes", "Soil bacteria fix nitrogen for legume crops in dry seasons."),
        ("Tidal energy", "Turbines harvest tidal currents in narrow straits."),
        ("Volcanic ash", "Ash plumes disrupt aviation after eruptions in Iceland."),
        ("Urban heat", "City blocks trap heat; parks cool neighbourhoods by two degrees."),
        ("Forest fires", "Dry summers and wind spread wildfires through pine forests."),
    ])
]
SPLIT = paper("2601.20001", "Safety of LLM agents",
              "We red-team LLM agents in browsers. A separate evaluation of refusals follows.")
TOGETHER = paper("2601.20002", "A benchmark for LLM evaluation",
                 "We propose a suite for LLM evaluation across many tasks.")
BUILD = paper("2601.20003", "Build tools for large C++ codebases",
              "We build incremental compilation tools that cut build times in half.")
CORPUS = [*FILLER, SPLIT, TOGETHER, BUILD]


def test_words_the_paper_holds_apart_are_not_cited_as_one_phrase() -> None:
    lexical = LexicalIndex([paper_text(p) for p in CORPUS])
    apart = reader_words("LLM evaluation", lexical, CORPUS.index(SPLIT), text=paper_text(SPLIT))
    assert "LLM evaluation" not in apart
    assert sorted(apart) == ["LLM", "evaluation"]
    together = reader_words("LLM evaluation", lexical, CORPUS.index(TOGETHER),
                            text=paper_text(TOGETHER))
    assert together == ["LLM evaluation"]


def test_one_everyday_word_of_a_sentence_is_not_a_match() -> None:
    ranker = build_ranker(CORPUS, semantic=False)
    text = ("I build tools that notice when a model has seen the test set, or that catch "
            "leaked benchmarks, so results can be trusted")
    picks = ranker.rank(Profile(interests=text), now=NOW, k=3).picks
    build = next(p for p in picks if p.paper.id == BUILD.id)  # BM25 picks it: it shares words
    assert not any(r.startswith("matches:") for r in build.reasons)
    assert build.reasons[0].startswith("close to your interest: I build tools that notice")


def test_a_list_item_the_paper_holds_is_still_cited() -> None:
    ranker = build_ranker(CORPUS, semantic=False)
    picks = ranker.rank(Profile(interests="coral reefs, tidal currents"), now=NOW, k=2).picks
    assert {p.reasons[0] for p in picks} == {"matches: coral reefs", "matches: tidal currents"}


def test_a_phrase_named_twice_is_cited_once() -> None:
    parsed = parse_profile(Profile(interests="state space models like Mamba",
                                   keywords=("Mamba",)), [])
    mamba = paper("2601.30001", "Mamba for audio", "We adapt Mamba to speech.")
    reasons = reasons_for(mamba, parsed, matched=["Mamba", "mamba", "Mamba"])
    assert reasons[0] == "matches: Mamba"
    assert reasons_for(mamba, parsed)[0] == "matches: Mamba"

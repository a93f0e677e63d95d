"""A reader of several sub-interests, on the real seed papers with the shipped encoder: picks
spread over the sides, a like pulls within its side, a dislike never erases a side, and reasons
cite the reader's own words. Which papers belong to which side was judged from their titles
and abstracts (bench/data/rank_judgments_seeds.json grades the same papers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from digest.app.rank import read_feed_files
from digest.models import Profile
from digest.rank import Ranker, build_ranker
from tests.unit.rank_fixtures import NOW

SEEDS = Path(__file__).resolve().parents[2] / "seeds" / "arxiv_seed.xml"
TWO_SIDED = ("Bandits and regret bounds. Also: making LLM inference faster, e.g. speculative "
             "decoding or KV cache compression.")
BANDITS = {"2306.02208", "2303.16998"}  # streaming multi-armed bandits; misspecified linear bandits
INFERENCE = {"2310.15141", "2402.14160", "2407.21018", "2405.14366", "2410.21465"}
SHADOWKV = "2410.21465"


@pytest.fixture(scope="module")
def ranker() -> Ranker:
    return build_ranker(read_feed_files([SEEDS]).papers)


def _ids(ranker: Ranker, profile: Profile, k: int = 10) -> list[str]:
    return [p.paper.id for p in ranker.rank(profile, now=NOW, k=k).picks]


def test_picks_spread_across_the_sub_interests_served(ranker: Ranker) -> None:
    top5 = set(_ids(ranker, Profile(interests=TWO_SIDED), k=5))
    assert top5 & BANDITS and top5 & INFERENCE


def test_a_like_on_one_side_leaves_the_other_side_in_the_top_10(ranker: Ranker) -> None:
    liked = _ids(ranker, Profile(interests=TWO_SIDED, liked=(SHADOWKV,)))
    assert set(liked) >= BANDITS
    assert SHADOWKV not in liked  # already seen
    assert len(set(liked) & INFERENCE) >= 3  # and the liked side still leads its share


def test_a_like_pulls_toward_the_liked_papers_neighbours_within_its_side(ranker: Ranker) -> None:
    def place(profile: Profile, pid: str) -> int:
        got = _ids(ranker, profile)
        return got.index(pid) if pid in got else 99

    plain = Profile(interests=TWO_SIDED)
    liked = Profile(interests=TWO_SIDED, liked=(SHADOWKV,))
    # MiniCache and ThinK compress the KV cache, as ShadowKV does: they move up or stay.
    for pid in ("2405.14366", "2407.21018"):
        assert place(liked, pid) <= place(plain, pid)


def test_a_dislike_pushes_away_without_erasing_the_sub_interest(ranker: Ranker) -> None:
    got = _ids(ranker, Profile(interests=TWO_SIDED, disliked=("2303.16998",)))
    assert "2303.16998" not in got
    assert "2306.02208" in got  # the other bandit paper: the side is still served


def test_reasons_cite_the_readers_own_words_as_written(ranker: Ranker) -> None:
    profile = Profile(interests="I want to read about KV Cache tricks for long-context LLMs")
    picks = ranker.rank(profile, now=NOW, k=5).picks
    shadow = next(p for p in picks if p.paper.id == SHADOWKV)
    assert shadow.reasons[0].startswith("matches: ")
    cited = shadow.reasons[0].removeprefix("matches: ").split(", ")
    assert "KV Cache" in cited  # the reader's casing, the words kept together
    assert all(w in profile.interests for w in cited)  # nothing but the reader's own words

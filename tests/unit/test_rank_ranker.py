"""The Ranker end to end on a small corpus, with the real packaged encoder."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from digest.models import Profile
from digest.rank import Ranker, build_ranker, default_embedder
from tests.unit.rank_fixtures import CORPUS, NOW


@pytest.fixture(scope="module")
def ranker() -> Ranker:
    return build_ranker(CORPUS)


def ids(ranking) -> list[str]:
    return [p.paper.id for p in ranking.picks]


def test_default_ranker_is_semantic(ranker: Ranker) -> None:
    assert ranker.semantic


def test_vocabulary_mismatch_finds_inverse_folding(ranker: Ranker) -> None:
    got = ranker.rank(Profile(interests="protein design"), now=NOW, k=3)
    assert ids(got)[0] == "2601.00002"
    # The paper never says "protein" or "design": the reason must not claim it does.
    assert got.picks[0].reasons[0] == "close to your interest: protein design" or (
        "matches" not in got.picks[0].reasons[0]
    )


def test_quiet_week_returns_fewer_papers_and_says_so(ranker: Ranker) -> None:
    got = ranker.rank(Profile(interests="protein design"), now=NOW, k=5)
    assert got.quiet
    assert 1 <= len(got.picks) < 5
    assert "2601.00005" not in ids(got)  # galaxy lensing is filler, not a pick
    assert got.considered == len(CORPUS)


def test_busy_week_is_not_quiet(ranker: Ranker) -> None:
    got = ranker.rank(Profile(interests="making LLM inference faster and cheaper"), now=NOW, k=2)
    assert not got.quiet and len(got.picks) == 2


def test_sent_papers_are_excluded(ranker: Ranker) -> None:
    profile = Profile(interests="KV cache compression for long context")
    first = ranker.rank(profile, now=NOW, k=1)
    again = ranker.rank(profile, now=NOW, k=3, exclude={ids(first)[0]})
    assert ids(first)[0] not in ids(again)


def test_new_version_of_a_paper_is_not_picked_beside_the_original(ranker: Ranker) -> None:
    got = ranker.rank(Profile(interests="KV cache compression for long context"), now=NOW, k=4)
    assert not {"2601.00001", "2601.00006"} <= set(ids(got))


def test_reasons_cite_matched_phrases_trending_author_and_category(ranker: Ranker) -> None:
    profile = Profile(
        interests="KV cache, long context",
        authors=("alan turing",),
        categories=("cs.CL",),
    )
    got = ranker.rank(profile, now=NOW, k=2)
    top = got.picks[0]
    assert top.paper.id == "2601.00001"
    assert top.reasons[0] == "matches: KV cache, long context"
    assert "by Alan Turing" in top.reasons
    assert "in cs.CL" in top.reasons
    assert "trending: 118 upvotes" in top.reasons


def test_liked_papers_steer_and_explain(ranker: Ranker) -> None:
    profile = Profile(interests="language models", liked=("2601.00007",))
    got = ranker.rank(profile, now=NOW, k=3)
    assert "2601.00007" not in ids(got)  # already seen
    kv = next(p for p in got.picks if p.paper.id == "2601.00001")
    assert "because you liked Quantized attention kernels for long sequences" in kv.reasons


def test_disliked_papers_push_similar_ones_down(ranker: Ranker) -> None:
    base = Profile(interests="efficient language model inference")
    plain = ranker.rank(base, now=NOW, k=4)
    disliked = ranker.rank(
        Profile(interests=base.interests, disliked=("2601.00007",)), now=NOW, k=4
    )
    assert "2601.00007" in ids(plain) and "2601.00007" not in ids(disliked)


def test_popularity_weight_breaks_ties_towards_trending(ranker: Ranker) -> None:
    profile = Profile(interests="faster large language models", popularity_weight=0.0)
    hot = Profile(interests=profile.interests, popularity_weight=10.0)
    cold_scores = {p.paper.id: p.score for p in ranker.rank(profile, now=NOW, k=4).picks}
    hot_scores = {p.paper.id: p.score for p in ranker.rank(hot, now=NOW, k=4).picks}
    gain = {pid: hot_scores[pid] - cold_scores[pid] for pid in cold_scores if pid in hot_scores}
    assert gain["2601.00001"] > gain.get("2601.00007", 0.0)


class CountingEmbedder:
    """The real encoder, counting how many texts it was asked to embed."""

    name = "counting"

    def __init__(self) -> None:
        self.inner = default_embedder()
        self.texts = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.texts += len(texts)
        assert self.inner is not None
        return self.inner.embed(texts)


def test_stored_embeddings_are_used_instead_of_re_encoding(ranker: Ranker) -> None:
    assert ranker.vectors is not None and ranker.titles is not None
    stored = {p.id: np.stack([ranker.vectors[i], ranker.titles[i]]) for i, p in enumerate(CORPUS)}
    counting = CountingEmbedder()
    again = build_ranker(CORPUS, embedder=counting, embeddings=stored)
    assert counting.texts == 0  # papers come from the store
    got = again.rank(Profile(interests="protein design"), now=NOW, k=1)
    assert counting.texts == 1  # only the profile text
    assert ids(got) == ["2601.00002"]


def test_lexical_only_ranker_still_ranks_and_floors() -> None:
    lexical = build_ranker(CORPUS, semantic=False)
    assert not lexical.semantic
    got = lexical.rank(Profile(interests="mutation testing"), now=NOW, k=3)
    assert ids(got)[0] == "2601.00003"
    assert got.quiet  # nothing else mentions the words
    assert lexical.rank(Profile(interests="protein design"), now=NOW, k=3).picks == ()


def test_ranking_a_small_and_an_empty_corpus() -> None:
    got = build_ranker(CORPUS[:3]).rank(Profile(interests="mutation testing"), now=NOW, k=1)
    assert ids(got) == ["2601.00003"]
    empty = build_ranker([]).rank(Profile(interests="anything"), now=NOW, k=3)
    assert empty.picks == () and empty.quiet and empty.considered == 0


def test_embed_papers_and_blobs_round_trip(ranker: Ranker) -> None:
    from digest.rank import embed_papers, from_blob, to_blob

    stored = embed_papers(CORPUS[:2])
    assert set(stored) == {"2601.00001", "2601.00002"}
    assert stored["2601.00001"].shape == (2, 384)  # title + abstract, then the title alone
    blob = to_blob(stored["2601.00001"])
    assert len(blob) == 2 * 384 * 4
    back = from_blob(blob).reshape(2, -1)
    assert back.dtype == np.float32 and np.array_equal(back, stored["2601.00001"])
    assert ranker.vectors is not None and ranker.titles is not None
    assert float(back[0] @ ranker.vectors[0]) > 0.9999  # same text, same vector
    assert float(back[1] @ ranker.titles[0]) > 0.9999
    encoder = default_embedder()
    assert encoder is not None
    assert float(back[1] @ encoder.embed([CORPUS[0].title])[0]) > 0.9999  # the title alone


def test_feedback_on_papers_from_earlier_weeks_uses_history(ranker: Ranker) -> None:
    # Last week's liked paper is not a candidate now, but still steers and explains.
    last_week, this_week = CORPUS[6], CORPUS[:6]
    assert ranker.vectors is not None and ranker.titles is not None
    stored = {p.id: np.stack([ranker.vectors[i], ranker.titles[i]]) for i, p in enumerate(CORPUS)}
    counting = CountingEmbedder()
    with_history = build_ranker(
        this_week, embedder=counting, embeddings=stored, history=[last_week]
    )
    assert counting.texts == 0
    profile = Profile(interests="language models", liked=(last_week.id,))
    got = with_history.rank(profile, now=NOW, k=3)
    assert last_week.id not in ids(got)
    kv = next(p for p in got.picks if p.paper.id == "2601.00001")
    assert f"because you liked {last_week.title}" in kv.reasons
    without = build_ranker(this_week, embedder=counting, embeddings=stored)
    plain = without.rank(profile, now=NOW, k=3)
    assert all(not r.startswith("because you liked") for p in plain.picks for r in p.reasons)


def test_embeddings_from_another_model_are_refused_clearly() -> None:
    stale = {p.id: np.ones(8, dtype=np.float32) for p in CORPUS}
    with pytest.raises(ValueError, match="re-embed"):
        build_ranker(CORPUS, embeddings=stale).rank(Profile(interests="protein design"), now=NOW)
    rows = {p.id: np.ones((2, 8), dtype=np.float32) for p in CORPUS}
    with pytest.raises(ValueError, match="re-embed"):
        build_ranker(CORPUS, embeddings=rows).rank(Profile(interests="protein design"), now=NOW)

"""Profile parsing: interest phrases, arXiv ids, seed resolution, subscriber-file mappings."""

from __future__ import annotations

import pytest

from digest.models import Profile
from digest.rank.profile import (
    arxiv_id,
    parse_profile,
    resolve_papers,
    split_interests,
)
from tests.unit.rank_fixtures import CORPUS


def test_split_interests_on_commas_semicolons_and_conjunctions() -> None:
    got = split_interests("KV cache, long context; protein design and RL.  Bandits")
    assert got == ("KV cache", "long context", "protein design", "RL", "Bandits")


def test_split_interests_drops_duplicates_and_blanks() -> None:
    assert split_interests(" , kv cache,, KV cache ,") == ("kv cache",)


@pytest.mark.parametrize(
    ("ref", "want"),
    [
        ("2401.01234", "2401.01234"),
        ("arXiv:2401.01234v2", "2401.01234"),
        ("hep-ph/0301050v1", "hep-ph/0301050"),
        ("math.NT/0601001", "math.NT/0601001"),
        ("not an id", None),
    ],
)
def test_arxiv_id(ref: str, want: str | None) -> None:
    assert arxiv_id(ref) == want


def test_resolve_papers_by_id_version_and_title() -> None:
    refs = ["2601.00003v2", "inverse folding with graph neural networks!", "9999.99999"]
    got = resolve_papers(refs, CORPUS)
    assert [p.id for p in got] == ["2601.00003", "2601.00002"]


def test_parse_profile_keeps_keywords_as_phrases_and_normalizes_authors() -> None:
    profile = Profile(
        interests="KV cache, speculative decoding",
        keywords=("long context",),
        authors=("  Ada   LOVELACE ",),
        liked=("2601.00004", "2601.00001"),
        disliked=("2601.00001", "2601.00005"),
    )
    parsed = parse_profile(profile, CORPUS)
    assert parsed.phrases == ("KV cache", "speculative decoding", "long context")
    assert "long context" in parsed.text
    assert parsed.authors == frozenset({"ada lovelace"})
    # A paper both liked and disliked counts as liked: the later click wins upstream.
    assert [p.id for p in parsed.disliked] == ["2601.00005"]


def test_arxiv_references_in_the_interests_are_seed_papers_not_words() -> None:
    from digest.models import Paper

    known = Paper(id="2301.13615", title="Mamba-like recurrences for long sequences",
                  abstract="We study recurrences.")
    other = Paper(id="2301.00001", title="Protein design", abstract="We design proteins.")
    for text in ("https://arxiv.org/abs/2301.13615v2", "arXiv:2301.13615", "2301.13615",
                 "http://arxiv.org/pdf/2301.13615.pdf"):
        parsed = parse_profile(Profile(interests=text), [known, other])
        assert parsed.seeds == (known,), text
        assert parsed.phrases == ("Mamba-like recurrences for long sequences",), text
    parsed = parse_profile(Profile(interests="KV cache; also like arxiv.org/abs/2301.13615"),
                           [known, other])
    assert parsed.seeds == (known,)
    assert parsed.phrases == ("KV cache",)
    assert "2301.13615" not in parsed.text
    parsed = parse_profile(Profile(interests="KV cache (https://example.org/notes)"), [known])
    assert (parsed.seeds, parsed.phrases, parsed.text) == ((), ("KV cache",), "KV cache")

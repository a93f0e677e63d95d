"""Interests as a reader writes them: sub-interests that each mean something on their own.

The expected splits were written from the sentences themselves (what a reader means), before
the splitter; the fragments the old splitter made are the ones issue 17 quotes.
"""

from __future__ import annotations

from digest.models import Profile
from digest.rank.interests import examples, sub_interests
from digest.rank.profile import parse_profile


def test_a_sentence_with_alternatives_stays_one_sub_interest() -> None:
    text = ("tools that notice when a model has seen the test set, or that catch leaked "
            "benchmarks, so results can be trusted")
    assert sub_interests(text) == (text,)


def test_clauses_are_never_sub_interests_on_their_own() -> None:
    for text in (
        "AI programming assistants that write and fix software",
        "making chatbots answer faster and use less GPU memory when serving them",
        "balancing exploration and exploitation when making decisions one after another",
        "Things like speculative decoding, or shrinking the memory the model needs at inference",
    ):
        assert sub_interests(text) == (text,)


def test_a_list_splits_into_its_items_as_written() -> None:
    assert sub_interests("KV cache, long context and protein design") == (
        "KV cache", "long context", "protein design")
    assert sub_interests("neuro-symbolic AI, knowledge graphs, SMT solvers") == (
        "neuro-symbolic AI", "knowledge graphs", "SMT solvers")


def test_bracketed_examples_stay_with_their_item() -> None:
    assert sub_interests("State space models (S4, Mamba) and linear-time alternatives to attention") \
        == ("State space models (S4, Mamba)", "linear-time alternatives to attention")


def test_several_sentences_and_numbered_parts_each_count_and_lead_ins_drop() -> None:
    got = sub_interests("Two things: (1) trading with machine learning; (2) jailbreaks against LLMs.")
    assert got == ("trading with machine learning", "jailbreaks against LLMs")
    got = sub_interests("I want my LLM to respond faster. Also interested in state space models "
                        "like Mamba, e.g. S4.")
    assert got == ("I want my LLM to respond faster",
                   "Also interested in state space models like Mamba, e.g. S4")


def test_duplicates_and_blanks_drop() -> None:
    assert sub_interests(" , kv cache,, KV cache ,") == ("kv cache",)
    assert sub_interests("") == ()


def test_keywords_keep_their_own_channel_after_the_sub_interests() -> None:
    parsed = parse_profile(Profile(interests="how chatbots remember long conversations",
                                   keywords=("KV cache",)), [])
    assert parsed.phrases == ("how chatbots remember long conversations", "KV cache")


def test_named_examples_are_the_readers_most_specific_words() -> None:
    assert examples("state space models like Mamba") == ("Mamba",)
    assert examples("State space models (S4, Mamba) and linear-time alternatives to attention") \
        == ("S4", "Mamba")
    assert examples("models that handle long inputs, e.g. extending the context window or "
                    "compressing the KV cache") == ("extending the context window",
                                                    "compressing the KV cache")
    # "like" as a verb, numbered parts and clauses are not examples.
    assert examples("I would like to read about robots") == ()
    assert examples("Two things: (1) trading; (2) jailbreaks") == ()
    assert examples("tools that notice when a model has seen the test set") == ()


def test_filler_words_carry_no_weight_in_the_word_evidence() -> None:
    from digest.rank.interests import FILLER
    from digest.rank.lexical import LexicalIndex

    index = LexicalIndex(["state space models", "we like models", "galaxies", "proteins"])
    with_filler = index.coverage(["state space models like Mamba"])[0]
    without = index.coverage(["state space models like Mamba"], ignore=FILLER)[0]
    assert without[1] < with_filler[1]  # sharing "like" is not evidence
    assert without[0] > with_filler[0]

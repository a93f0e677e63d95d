"""Interests as people paste them into a form or a terminal: numbered and bulleted lists,
markup, terminal colour codes, bidi controls, undecodable bytes. The expected sub-interests
were written from what the reader meant, before the fix (a breaker's report on issue 17:
'1', '2', '* efficient inference', 'b>' were read as sub-interests)."""

from __future__ import annotations

import pytest

from digest.models import Paper, Profile
from digest.profiles import ProfileError, validate_profile
from digest.rank.interests import sub_interests
from digest.rank.profile import parse_profile
from digest.rank.reasons import reasons_for
from digest.text import clean_interests

ITEMS = ("mutation testing", "diffusion models", "reinforcement learning")


@pytest.mark.parametrize("text", [
    "1. mutation testing\n2. diffusion models\n3. reinforcement learning",
    "1. mutation testing 2. diffusion models 3. reinforcement learning",  # a form's one line
    "1) mutation testing\n2) diffusion models\n3) reinforcement learning",
    "* mutation testing\n* diffusion models\n* reinforcement learning",
    "* mutation testing * diffusion models * reinforcement learning",
    "- mutation testing\n- diffusion models\n- reinforcement learning",
    "• mutation testing • diffusion models • reinforcement learning",
])
def test_numbered_and_bulleted_lists_give_their_items(text: str) -> None:
    assert sub_interests(text) == ITEMS


def test_numbers_inside_an_item_stay() -> None:
    assert sub_interests("GPT-4 evaluation, Llama 3 fine-tuning") == (
        "GPT-4 evaluation", "Llama 3 fine-tuning")
    assert sub_interests("version 2 of the protocol") == ("version 2 of the protocol",)


def test_markup_in_interests_is_text_not_tags() -> None:
    assert sub_interests("<b>robot manipulation</b>") == ("robot manipulation",)
    assert sub_interests("<script>alert(1)</script> protein design") == ("protein design",)
    # not markup: a comparison stays
    assert sub_interests("p < 0.05 and p-hacking") == ("p < 0.05", "p-hacking")


def test_terminal_and_bidi_controls_are_removed() -> None:
    assert sub_interests("\x1b[31mrobot manipulation\x1b[0m, KV cache\u202e") == (
        "robot manipulation", "KV cache")
    assert clean_interests("KV\x00 cache\u200b") == "KV cache"


def test_undecodable_bytes_from_the_command_line_are_dropped() -> None:
    # Python hands a non-UTF-8 argv byte over as a lone surrogate (PEP 383)
    assert clean_interests("\udcff KV cache") == "KV cache"
    parsed = parse_profile(Profile(interests="\udcff KV cache"), [])
    assert parsed.text == "KV cache"


def test_a_sentence_opening_with_a_conjunction_is_cited_without_it() -> None:
    text = ("I want papers on speculative decoding. Also state space models like Mamba. "
            "And code generation.")
    assert sub_interests(text)[-1] == "And code generation"  # read as typed
    parsed = parse_profile(Profile(interests=text), [])
    paper = Paper(id="2601.00001", title="Writing code", abstract="We write programs.")
    assert reasons_for(paper, parsed, closest_interest=sub_interests(text)[-1]) == (
        "close to your interest: code generation",)


def test_stored_interests_are_cleaned_too() -> None:
    stored = validate_profile({"email": "a@example.org",
                               "interests": "\x1b[31mKV cache\x1b[0m\u202e <i>Mamba</i>"})
    assert stored.interests == "KV cache Mamba"
    with pytest.raises(ProfileError):
        validate_profile({"email": "a@example.org", "interests": "\x1b[31m\x1b[0m <b></b>"})
    with pytest.raises(ProfileError):
        validate_profile({"email": "a@example.org", "interests": "???"})


def test_titles_before_names_end_no_sentence() -> None:
    assert sub_interests("Dr. Smith's work on protein folding") == (
        "Dr. Smith's work on protein folding",)

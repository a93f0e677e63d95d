"""Signed tokens: bound to one purpose and one subscriber; forged or expired ones fail."""

from __future__ import annotations

import time

import pytest

from digest.errors import TokenError
from digest.tokens import make_token, read_token

SECRET = "s" * 32


def test_round_trip_keeps_payload() -> None:
    token = make_token(SECRET, "feedback", 7, paper="2401.00001", signal="more")
    data = read_token(SECRET, "feedback", token)
    assert (data["s"], data["paper"], data["signal"]) == (7, "2401.00001", "more")


def test_wrong_purpose_forged_and_other_secret_fail() -> None:
    token = make_token(SECRET, "unsubscribe", 7)
    with pytest.raises(TokenError):
        read_token(SECRET, "confirm", token)
    with pytest.raises(TokenError):
        read_token("other" * 8, "unsubscribe", token)
    with pytest.raises(TokenError):
        read_token(SECRET, "unsubscribe", token[:-2] + ("A" if token[-1] != "A" else "B") + "x")


def test_expiry() -> None:
    token = make_token(SECRET, "confirm", 7)
    time.sleep(1.1)  # itsdangerous timestamps have one-second resolution
    with pytest.raises(TokenError, match="expired"):
        read_token(SECRET, "confirm", token, max_age=0)


def test_cached_signer_mints_what_itsdangerous_mints() -> None:
    """The per-(secret, purpose) signer makes byte-for-byte the token a fresh
    URLSafeTimedSerializer makes for the same payload and second, and reads back."""
    from itsdangerous import URLSafeTimedSerializer

    from tests.build_reference import frozen_time

    payload = {"s": 7, "p": "feedback", "paper": "url:https://example.org/" + "ab" * 40,
               "signal": "more", "u": "pub-7"}  # long and repetitive: the zlib branch
    short = {"s": 7, "p": "unsubscribe", "u": "pub-7"}
    with frozen_time():
        for data in (payload, short):
            extra = {k: v for k, v in data.items() if k not in ("s", "p", "u")}
            fresh = URLSafeTimedSerializer(SECRET, salt=f"digest.{data['p']}").dumps(data)
            mine = make_token(SECRET, str(data["p"]), 7, public_id="pub-7", **extra)
            assert mine == fresh
            assert read_token(SECRET, str(data["p"]), mine) == data
            assert mine.startswith(".") == (data is payload)  # zlib branch only when it shrinks

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


B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@pytest.mark.parametrize("part", [0, 1, 2])
def test_one_token_has_one_spelling(part: int) -> None:
    """Base64 of a 20-byte HMAC (or of the payload or timestamp) ends in a character whose low
    bits are padding (RFC 4648 §3.5) that a lenient decoder ignores: changing them spells the
    same bytes differently. A link that accepted those spellings made a "tampered" token pass
    (CI, stop 24); every part must be in its one canonical spelling."""
    token = make_token(SECRET, "unsubscribe", 7, public_id="u-abc")
    pieces = token.split(".")
    assert len(pieces) == 3 and all(pieces)
    piece = pieces[part]
    unused = (6 * len(piece)) % 8  # padding bits carried by the last character
    if not unused:  # this part's length leaves no padding bits to vary
        pytest.skip("no padding bits in this part")
    last = B64.index(piece[-1])
    assert last % (1 << unused) == 0  # the canonical spelling has them zero
    for low in range(1, 1 << unused):
        pieces[part] = piece[:-1] + B64[last + low]
        with pytest.raises(TokenError):
            read_token(SECRET, "unsubscribe", ".".join(pieces))

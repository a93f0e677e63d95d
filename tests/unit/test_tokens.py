"""Signed tokens: bound to one purpose and one subscriber; forged or expired ones fail."""

from __future__ import annotations

import re
import time

import pytest

from digest.errors import TokenError
from digest.tokens import (
    is_feedback_link_token,
    make_feedback_token,
    make_token,
    read_feedback_token,
    read_token,
)

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


# A public id as the store makes them (secrets.token_urlsafe(16)): what every link names.
PUB, OTHER_PUB = "Zq3v_8-kQ1mN0pLr2sT4uA", "b7Yx-2LwQe9RtUi0OpAs1d"
PAPERS = ("2401.00001", "url:https://example.org/a/b?c=d&e=f#g", "hf:Zoë ✓ 論文",
          "url:https://example.org/" + "x" * 270)  # the longest id a feedback link may name


@pytest.mark.parametrize("paper", PAPERS)
def test_feedback_link_token_names_reader_paper_and_signal(paper: str) -> None:
    for signal in ("more", "less"):
        token = make_feedback_token(SECRET, PUB, paper, signal)
        assert read_feedback_token(SECRET, token) == (PUB, paper, signal)
        # One path segment in the unreserved set (RFC 3986 §2.3): no escaping, no "/" that
        # a router would split, and the whole link is what a mail client auto-links.
        assert re.fullmatch(r"[A-Za-z0-9_.\-]+", token), token


def test_feedback_link_token_refuses_any_other_reader_paper_or_signal() -> None:
    """A link cannot be turned into one for another paper, signal or reader: every part spliced
    in from another valid link, a flipped signal, another secret, a cut or padded tag fail."""
    more = make_feedback_token(SECRET, PUB, "2401.00001", "more")
    others = [make_feedback_token(SECRET, PUB, "2401.00002", "more"),
              make_feedback_token(SECRET, PUB, "2401.00001", "less"),
              make_feedback_token(SECRET, OTHER_PUB, "2401.00001", "more"),
              make_feedback_token(SECRET, OTHER_PUB, "2401.00002", "less")]
    parts = more.split(".")
    spliced = {".".join([*parts[:i], o.split(".")[i], *parts[i + 1:]])
               for o in others for i in range(len(parts))} - {more}
    assert len(spliced) >= 4
    tag = parts[-1]
    bad = [*spliced, more.replace(".more.", ".less."),
           ".".join([*parts[:-1], tag[:-1]]), ".".join([*parts[:-1], tag + "A"]),
           ".".join([*parts[:-1], ""]), ".".join(parts[:-1]), more + ".x",
           make_feedback_token("another-secret-of-32-characters!", PUB, "2401.00001", "more"),
           more.replace(PUB, PUB + "."), more[:-1] + "é", "x" * 2000, "", "not-a-token"]
    for token in bad:
        with pytest.raises(TokenError):
            read_feedback_token(SECRET, token)


def test_feedback_link_tag_has_one_spelling() -> None:
    """The tag is base64 whose last character carries padding bits (RFC 4648 §3.5): every
    other spelling of the same bytes is refused, as for the full tokens."""
    parts = make_feedback_token(SECRET, PUB, "2401.00001", "more").split(".")
    tag = parts[-1]
    unused = (6 * len(tag)) % 8
    assert unused  # a 16- or 32-byte tag leaves padding bits: the case to guard
    last = B64.index(tag[-1])
    for low in range(1, 1 << unused):
        parts[-1] = tag[:-1] + B64[last + low]
        with pytest.raises(TokenError):
            read_feedback_token(SECRET, ".".join(parts))


def test_feedback_link_and_full_tokens_do_not_read_as_each_other() -> None:
    """The two feedback formats live side by side (old links stay in inboxes): neither
    reader takes the other's token."""
    new = make_feedback_token(SECRET, PUB, "2401.00001", "more")
    old = make_token(SECRET, "feedback", 7, public_id=PUB, paper="2401.00001", signal="more")
    with pytest.raises(TokenError):
        read_token(SECRET, "feedback", new)
    with pytest.raises(TokenError):
        read_feedback_token(SECRET, old)
    assert is_feedback_link_token(new) and not is_feedback_link_token(old)


def test_a_digest_signs_three_full_tokens_however_many_papers(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Unsubscribe, preferences and "view" are full signed tokens; the twenty feedback links
    of ten papers cost no full signature each (they were half of a message's build time)."""
    from itsdangerous import Signer

    from digest.links import Links

    signed: list[bytes] = []
    real = Signer.get_signature

    def counting(self: Signer, value: str | bytes) -> bytes:
        signed.append(value if isinstance(value, bytes) else value.encode())
        return real(self, value)

    monkeypatch.setattr(Signer, "get_signature", counting)
    links = Links("https://digest.example.org", SECRET, "digest@example.org")
    made = links.for_digest(7, PUB, "weekly:2026-W48")
    urls = [made.feedback_url(f"2401.{n:05d}", s) for n in range(10) for s in ("more", "less")]
    assert len(set(urls)) == 20
    assert len(signed) == 3

"""Signed, purpose-bound tokens for the links in emails (unsubscribe, confirm, ...).

A token names one subscriber and one purpose; itsdangerous signs it with the secret key
(HMAC, constant-time comparison) and a salt per purpose, so a token for one purpose is
worthless for any other. The subscriber is named by their random public id ("u", never
reused) as well as the integer id ("s", which SQLite can hand to the next sign-up); tokens
issued before public ids existed carry "s" only (see ``Subscriptions.read_link``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import Any

from itsdangerous import (
    BadData,
    BadSignature,
    SignatureExpired,
    Signer,
    TimestampSigner,
    URLSafeTimedSerializer,
)
from itsdangerous.encoding import base64_decode, base64_encode

from digest.errors import TokenError

# "form" signs the subscribe form (CSRF), with subscriber id 0.
# "resubscribe" is the undo offered on the unsubscribe page.
# "view" opens one edition in a browser; "feed" is a reader's private Atom feed.
PURPOSES = ("confirm", "unsubscribe", "preferences", "feedback", "export", "delete", "form",
            "resubscribe", "view", "feed")


class ExpiredToken(TokenError):
    """The signature is good but the link is older than it may be."""


MAX_TOKEN_LENGTH = 1000  # longer strings are rejected before any decoding work


class _IssuedAtSigner(TimestampSigner):
    """A TimestampSigner whose timestamp can be fixed: lets tests mint an already-old token."""

    def __init__(self, *args: Any, issued_at: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._issued_at = issued_at

    def get_timestamp(self) -> int:
        return self._issued_at if self._issued_at is not None else super().get_timestamp()

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        # itsdangerous derives the key (a SHA-1 over salt and secret) on every signature;
        # a signer here serves one (secret, purpose) pair, so its key is derived once.
        if secret_key is not None:
            return super().derive_key(secret_key)
        if self._key is None:
            self._key = super().derive_key()
        return self._key

    _key: bytes | None = None


def _serializer(secret: str, purpose: str, issued_at: int | None = None) -> URLSafeTimedSerializer:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    return URLSafeTimedSerializer(secret, salt=f"digest.{purpose}", signer=_IssuedAtSigner,
                                  signer_kwargs={"issued_at": issued_at})


def make_token(secret: str, purpose: str, subscriber_id: int, *, public_id: str | None = None,
               issued_at: int | None = None, **extra: Any) -> str:
    """Sign ``{"s": subscriber_id, "u": public_id, "p": purpose, **extra}`` ("u" left out
    when empty: the form token names nobody); ``issued_at`` (epoch seconds) defaults to now
    and matters for tokens read with ``max_age`` and for legacy tokens."""
    payload: dict[str, Any] = {"s": subscriber_id, "p": purpose, **extra}
    if public_id:
        payload["u"] = public_id
    if issued_at is not None:
        return _serializer(secret, purpose, issued_at).dumps(payload)
    serializer, signer = _minting(secret, purpose)
    # Exactly what ``serializer.dumps`` does (same bytes: tests/unit/test_tokens.py), minus
    # building a new signer and deriving its key for every token; a digest carries 3 (its
    # feedback links are ``make_feedback_token``s). Measured on 5,000 feedback tokens, CPU
    # per token, best of 3 (load 2.3 on 2 cores): 17.6 us through dumps(), 13.6 us with this
    # cached signer. What remains is the format itself (zlib attempt, JSON, HMAC-SHA1,
    # base64); a hand-written minting of it measured only ~10% faster, not worth owning.
    return signer.sign(serializer.dump_payload(payload)).decode("utf-8")


@lru_cache(maxsize=64)
def _minting(secret: str, purpose: str) -> tuple[URLSafeTimedSerializer, Signer]:
    """The serializer and signer for one (secret, purpose), built once per process."""
    serializer = _serializer(secret, purpose)
    return serializer, serializer.make_signer()


def _canonical(token: str) -> bool:
    """Whether the signature is in its one base64 spelling. The payload and timestamp are
    signed as text, so any other spelling of them fails the HMAC; the signature itself is
    decoded, and a lenient decoder ignores the padding bits of its last character (RFC 4648
    §3.5), which would let one token be written four ways."""
    signature = token.rpartition(".")[2]
    try:
        return base64_encode(base64_decode(signature)).decode("ascii") == signature
    except BadData:
        return False


def read_token_issued(secret: str, purpose: str, token: str, *,
                      max_age: int | None = None) -> tuple[dict[str, Any], datetime]:
    """The token's payload and when it was signed (aware UTC, whole seconds); raises
    TokenError if forged, malformed or for another purpose, ExpiredToken past ``max_age``
    seconds."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH or not _canonical(token):
        raise TokenError("this link is not valid")
    try:
        data, issued = _serializer(secret, purpose).loads(token, max_age=max_age,
                                                          return_timestamp=True)
    except SignatureExpired as exc:
        raise ExpiredToken("this link has expired") from exc
    except BadSignature as exc:
        raise TokenError("this link is not valid") from exc
    if not isinstance(data, dict) or data.get("p") != purpose or not isinstance(data.get("s"), int):
        raise TokenError("this link is not valid")
    if "u" in data and not isinstance(data["u"], str):
        raise TokenError("this link is not valid")
    return data, issued


def read_token(secret: str, purpose: str, token: str, *, max_age: int | None = None) -> dict[str, Any]:
    """The token's payload; raises TokenError if forged, expired or for another purpose."""
    return read_token_issued(secret, purpose, token, max_age=max_age)[0]


# Feedback links: a digest carries two per paper. A full token each (JSON, zlib attempt,
# HMAC-SHA1, base64: ~13.6 us) was half the cost of building a message; these are one
# HMAC-SHA256 each (~1 us) under a key used for nothing else. Shape, one path segment:
#     f1.<public id>.<paper id, base64url of UTF-8>.<more|less>.<tag>
# where tag = base64url(HMAC-SHA256(key, everything before ".<tag>")[:16]): 128 bits, so no
# link can be guessed, and every field is under it: not another reader (the public id is
# random and never reused), paper or signal. A full token's payload starts "ey" (base64 of
# "{") or "." (compressed), never "f1.", so the two formats never read as each other. No
# expiry and no edition: like the full feedback tokens, a click means "this reader, this
# paper, this signal" whenever and wherever it comes from.
FEEDBACK_LINK = "f1."
FEEDBACK_LINK_SIGNALS = ("more", "less")
_PUBLIC_ID = re.compile(r"[A-Za-z0-9_\-]{1,64}")
_FEEDBACK_LINK = re.compile(r"f1\.([A-Za-z0-9_\-]{1,64})\.([A-Za-z0-9_\-]+)\.(more|less)\."
                            r"([A-Za-z0-9_\-]{22})")


@lru_cache(maxsize=8)
def _feedback_mac(secret: str) -> hmac.HMAC:
    """HMAC-SHA256 under the feedback links' own key (derived from the secret for this one
    use), keyed once: each tag then costs a copy, not the key setup."""
    key = hmac.new(secret.encode("utf-8"), b"digest.feedback-link", hashlib.sha256).digest()
    return hmac.new(key, digestmod=hashlib.sha256)


_URL_SAFE = bytes.maketrans(b"+/", b"-_")


def _tag(secret: str, signed: str) -> str:
    mac = _feedback_mac(secret).copy()
    mac.update(signed.encode("ascii"))
    # 16 bytes are 22 base64 characters and two "=": the unpadded URL-safe spelling.
    return binascii.b2a_base64(mac.digest()[:16], newline=False)[:22].translate(
        _URL_SAFE).decode("ascii")


@lru_cache(maxsize=4096)
def _paper_part(paper_id: str) -> str:
    # An edition's papers repeat across its readers: each id is encoded once. A lone
    # surrogate cannot be UTF-8: it becomes "?", as it did in the full tokens.
    raw = paper_id.encode("utf-8", "replace")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def can_make_feedback_token(public_id: str) -> bool:
    """Whether ``public_id`` fits a feedback link (a store-made public id always does)."""
    return _PUBLIC_ID.fullmatch(public_id) is not None


def feedback_minter(secret: str, public_id: str) -> Callable[[str, str], str]:
    """``make_feedback_token`` for one reader: ``(paper_id, signal) -> token``, the reader
    checked once (a digest mints twenty). Raises ValueError as ``make_feedback_token`` does
    (the public id now, a signal on the call)."""
    if not can_make_feedback_token(public_id):
        raise ValueError("a feedback link needs a public id")
    prefix = f"{FEEDBACK_LINK}{public_id}."

    def mint(paper_id: str, signal: str) -> str:
        if signal not in FEEDBACK_LINK_SIGNALS:
            raise ValueError("a feedback link's signal is more or less")
        signed = f"{prefix}{_paper_part(paper_id)}.{signal}"
        return f"{signed}.{_tag(secret, signed)}"

    return mint


def make_feedback_token(secret: str, public_id: str, paper_id: str, signal: str) -> str:
    """The token of one feedback link: reader ``public_id`` says ``signal`` ("more" or
    "less") about paper ``paper_id``. Raises ValueError for another signal or a public id
    that ``can_make_feedback_token`` refuses."""
    return feedback_minter(secret, public_id)(paper_id, signal)


def is_feedback_link_token(token: str) -> bool:
    """Whether ``token`` claims the feedback link format (whether it is good is another
    matter: ``read_feedback_token``)."""
    return token.startswith(FEEDBACK_LINK)


def read_feedback_token(secret: str, token: str) -> tuple[str, str, str]:
    """(public id, paper id, signal) of a feedback link token; raises TokenError for anything
    not signed as it stands (the tag is compared as text: one spelling only)."""
    found = (_FEEDBACK_LINK.fullmatch(token)
             if isinstance(token, str) and len(token) <= MAX_TOKEN_LENGTH else None)
    if found is None:
        raise TokenError("this link is not valid")
    signed = token[: found.start(4) - 1]
    if not hmac.compare_digest(_tag(secret, signed), found.group(4)):
        raise TokenError("this link is not valid")
    public_id, paper, signal = found.group(1, 2, 3)
    try:
        paper_id = base64.urlsafe_b64decode(paper + "=" * (-len(paper) % 4)).decode("utf-8")
    except ValueError as exc:  # binascii.Error and UnicodeDecodeError both are
        raise TokenError("this link is not valid") from exc
    return public_id, paper_id, signal

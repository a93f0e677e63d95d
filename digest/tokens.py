"""Signed, purpose-bound tokens for the links in emails (unsubscribe, confirm, ...).

A token names one subscriber and one purpose; itsdangerous signs it with the secret key
(HMAC, constant-time comparison) and a salt per purpose, so a token for one purpose is
worthless for any other.
"""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from digest.errors import TokenError

# "form" signs the subscribe form (CSRF), with subscriber id 0.
# "view" opens one edition in a browser; "feed" is a reader's private Atom feed.
PURPOSES = ("confirm", "unsubscribe", "preferences", "feedback", "export", "delete", "form",
            "view", "feed")


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


def _serializer(secret: str, purpose: str, issued_at: int | None = None) -> URLSafeTimedSerializer:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    return URLSafeTimedSerializer(secret, salt=f"digest.{purpose}", signer=_IssuedAtSigner,
                                  signer_kwargs={"issued_at": issued_at})


def make_token(secret: str, purpose: str, subscriber_id: int, *, issued_at: int | None = None,
               **extra: Any) -> str:
    """Sign ``{"s": subscriber_id, "p": purpose, **extra}``; ``issued_at`` (epoch seconds)
    defaults to now and only matters for tokens read with ``max_age``."""
    payload = {"s": subscriber_id, "p": purpose, **extra}
    return _serializer(secret, purpose, issued_at).dumps(payload)


def read_token(secret: str, purpose: str, token: str, *, max_age: int | None = None) -> dict[str, Any]:
    """The token's payload; raises TokenError if forged, expired or for another purpose."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise TokenError("this link is not valid")
    try:
        data = _serializer(secret, purpose).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise ExpiredToken("this link has expired") from exc
    except BadSignature as exc:
        raise TokenError("this link is not valid") from exc
    if not isinstance(data, dict) or data.get("p") != purpose or not isinstance(data.get("s"), int):
        raise TokenError("this link is not valid")
    return data

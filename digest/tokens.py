"""Signed, purpose-bound tokens for the links in emails (unsubscribe, confirm, ...).

A token names one subscriber and one purpose; itsdangerous signs it with the secret key
(HMAC, constant-time comparison) and a salt per purpose, so a token for one purpose is
worthless for any other.
"""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from digest.errors import TokenError

PURPOSES = ("confirm", "unsubscribe", "preferences", "feedback", "export", "delete")


def _serializer(secret: str, purpose: str) -> URLSafeTimedSerializer:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    return URLSafeTimedSerializer(secret, salt=f"digest.{purpose}")


def make_token(secret: str, purpose: str, subscriber_id: int, **extra: Any) -> str:
    return _serializer(secret, purpose).dumps({"s": subscriber_id, "p": purpose, **extra})


def read_token(secret: str, purpose: str, token: str, *, max_age: int | None = None) -> dict[str, Any]:
    """The token's payload; raises TokenError if forged, expired or for another purpose."""
    try:
        data = _serializer(secret, purpose).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise TokenError("this link has expired") from exc
    except BadSignature as exc:
        raise TokenError("this link is not valid") from exc
    if not isinstance(data, dict) or data.get("p") != purpose or not isinstance(data.get("s"), int):
        raise TokenError("this link is not valid")
    return data

"""Hostile form input: field cleaning, the signed subscribe-form token, the client address."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from digest.errors import DigestError, TokenError
from digest.tokens import make_token, read_token

FORM_TOKEN_MAX_AGE = 24 * 3600
_C0 = {chr(c) for c in range(32)} | {"\x7f", "\u2028", "\u2029"}


class FormError(DigestError):
    """A form field is missing, too long or carries forbidden characters."""


def clean(value: Any, field: str, *, max_len: int, required: bool = False,
          multiline: bool = False) -> str:
    """The stripped text of one field. CR/LF (and every other control character) are
    refused outright in single-line fields: they have no business there and are how
    header injection starts."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise FormError(f"{field}: expected text")
    allowed = {"\r", "\n"} if multiline else set()
    if any(ch in _C0 and ch not in allowed for ch in value):
        raise FormError(f"{field}: contains line breaks or control characters")
    if len(value) > max_len:
        raise FormError(f"{field}: at most {max_len} characters")
    text = value.strip()
    if required and not text:
        raise FormError(f"{field}: required")
    return text


def lines(value: str, field: str, *, max_items: int = 50, max_len: int = 300) -> list[str]:
    items = [line.strip() for line in value.splitlines() if line.strip()]
    if len(items) > max_items:
        raise FormError(f"{field}: at most {max_items} lines")
    if any(len(item) > max_len for item in items):
        raise FormError(f"{field}: each line at most {max_len} characters")
    return items


def number(value: str, field: str, *, low: int, high: int) -> int:
    # ASCII digits only: str.isdigit() also takes "²" (which int() refuses) and "٣"
    if not (value.isascii() and value.isdigit()) or not low <= int(value) <= high:
        raise FormError(f"{field}: a whole number from {low} to {high}")
    return int(value)


def form_token(secret: str) -> str:
    return make_token(secret, "form", 0)


def check_form_token(secret: str, token: str) -> None:
    """The subscribe form carries a signed, expiring token: a POST must come from our page."""
    try:
        read_token(secret, "form", token, max_age=FORM_TOKEN_MAX_AGE)
    except TokenError as exc:
        raise FormError("the form has expired; please reload the page and try again") from exc


def client_ip(request: Request) -> str:
    """The client's address: the connecting one, or behind DIGEST_WEB__TRUSTED_PROXIES the
    one uvicorn's proxy-headers middleware settled (web.limits). Never parsed here."""
    return request.client.host[:64] if request.client else "unknown"

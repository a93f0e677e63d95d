"""Email addresses: validation and normalization (no DNS), and the suppression hash."""

from __future__ import annotations

import hashlib

from email_validator import EmailNotValidError, validate_email

from digest.errors import AddressError

_FORBIDDEN = {chr(c) for c in range(32)} | {"\x7f"}


def normalize_address(raw: str) -> str:
    """Validate ``raw`` and return its normalized form (IDN domain, lower-case domain).

    Raises AddressError with a short reason. Never performs DNS lookups.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise AddressError("an email address is required")
    # Control characters (CR/LF above all) are refused even at the ends: stripping them
    # would quietly accept header-injection attempts.
    if any(ch in _FORBIDDEN for ch in raw):
        raise AddressError("the address contains control characters")
    text = raw.strip()
    if len(text) > 320:
        raise AddressError("the address is too long")
    if "@" in text and len(text.rpartition("@")[0].encode("utf-8")) > 64:
        # RFC 5321 4.5.3.1.1; email-validator only enforces it in strict mode
        raise AddressError("the part before the @-sign is longer than 64 characters")
    try:
        result = validate_email(text, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as exc:
        raise AddressError(str(exc)) from exc
    return result.normalized


def address_hash(address: str) -> str:
    """A stable hash of a normalized address: what remains after a subscriber is deleted."""
    return hashlib.sha256(address.strip().lower().encode("utf-8")).hexdigest()

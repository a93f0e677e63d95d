"""Email addresses: validation and normalization (no DNS), their wire form (IDNA domains),
and the suppression hash.

An address is stored as it was typed, normalized: a Unicode domain stays Unicode, a domain
typed as punycode (``xn--…``) stays punycode. On the wire every domain is written as IDNA
A-labels, so only a non-ASCII local part ever needs SMTPUTF8 (RFC 6531).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

import idna
from email_validator import EmailNotValidError, validate_email

from digest.errors import AddressError

_FORBIDDEN = {chr(c) for c in range(32)} | {"\x7f"}


def normalize_address(raw: str) -> str:
    """Validate ``raw`` and return its normalized form (lower-case domain; a Unicode domain
    NFC-normalized, a punycode domain kept as punycode).

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
    if text.rpartition("@")[2].isascii() and result.ascii_domain:
        # Typed as ASCII (perhaps punycode): keep it so; email-validator would show the
        # Unicode form, which only an SMTPUTF8 relay could carry if it were sent as is.
        return f"{result.local_part}@{result.ascii_domain.lower()}"
    return str(result.normalized)


@lru_cache(maxsize=4096)
def _a_labels(domain: str) -> str:
    try:
        return idna.encode(domain, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise AddressError(f"the domain {domain!r} cannot be written in IDNA: {exc}") from exc


@lru_cache(maxsize=4096)
def _u_labels(domain: str) -> str:
    if "xn--" not in domain.lower():
        return domain.lower()
    try:
        return idna.decode(domain)
    except idna.IDNAError:
        return domain.lower()  # not valid punycode: it can only ever match itself


def wire_address(address: str) -> str:
    """``address`` as it goes into the SMTP envelope and the headers: the domain as IDNA
    A-labels (IDNA 2008, RFC 5890/5891, with the UTS #46 mapping email-validator uses),
    the local part unchanged. Raises AddressError for a domain IDNA cannot encode."""
    local, at, domain = address.rpartition("@")
    if not at or domain.isascii():
        return address
    return f"{local}@{_a_labels(domain)}"


def needs_smtputf8(*addresses: str) -> bool:
    """Whether any of these addresses needs SMTPUTF8 (RFC 6531): only a non-ASCII local
    part does, a domain travels as punycode."""
    return not all(a.rpartition("@")[0].isascii() for a in addresses)


def spellings(address: str) -> tuple[str, ...]:
    """The ways the same normalized address may be stored: as given, and with its domain
    in the other IDNA form (Unicode or punycode). Never raises."""
    local, at, domain = address.rpartition("@")
    if not at:
        return (address,)
    try:
        other = _u_labels(domain) if domain.isascii() else _a_labels(domain)
    except AddressError:
        return (address,)
    alternative = f"{local}@{other}"
    return (address,) if alternative == address else (address, alternative)


def address_hash(address: str) -> str:
    """A stable hash of a normalized address: what remains after a subscriber is deleted.

    The domain counts in its Unicode form, so ``lea@xn--bcher-kva.example`` and
    ``lea@bücher.example`` (one mailbox) share one hash, the one earlier versions stored.
    """
    local, at, domain = address.strip().rpartition("@")
    canonical = f"{local}@{_u_labels(domain)}" if at else address.strip()
    return hashlib.sha256(canonical.lower().encode("utf-8")).hexdigest()

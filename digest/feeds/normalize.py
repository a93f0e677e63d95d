"""Turn untrusted feed strings into author lists, UTC dates, link ids and DOIs (plain text
and safe links: ``digest.text``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from time import struct_time
from urllib.parse import urlsplit, urlunsplit

from digest.text import plain_text

_INITIALS = re.compile(r"^(?:[A-Z][a-z]?\.\s*-?\s*){1,4}$")  # "N.", "P.-L.", "R. J."
_AND = re.compile(r"\s+(?:and|&)\s+", re.IGNORECASE)
_DOI = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>]+)", re.IGNORECASE)


def split_authors(raw: str) -> list[str]:
    """Split a joined author string (already text: markup is the caller's to remove): "A, B
    and C"; keeps "Surname, I." pairs together (bioRxiv style) and an honest "et al." marker."""
    text = plain_text(raw)
    if not text:
        return []
    parts = [p.strip() for p in _AND.sub(", ", text).split(",")]
    parts = [p for p in parts if p]
    if len(parts) >= 2 and len(parts) % 2 == 0 and all(
        _INITIALS.match(p) for p in parts[1::2]
    ) and not any(_INITIALS.match(p) for p in parts[0::2]):
        parts = [f"{a}, {b}" for a, b in zip(parts[0::2], parts[1::2], strict=True)]
    out: list[str] = []
    for part in parts:
        if part.lower().startswith("et al"):
            out.append(part)  # "et al. (909 additional authors not shown)"
        else:
            out.append(part.rstrip(":").strip())
    return [a for a in out if a]


def normalize_link(url: str) -> str:
    """A stable form of a link for use as an id: lower-case scheme/host, no fragment,
    no trailing slash, http and https treated alike."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/") or ""
    return urlunsplit(("https", parts.netloc.lower(), path, parts.query, ""))


def doi_from(text: str | None) -> str | None:
    if not text:
        return None
    match = _DOI.search(str(text))
    return match.group(1).rstrip(".").lower() if match else None


def utc_from_struct(value: struct_time | None) -> datetime | None:
    """feedparser's UTC struct_time as an aware datetime (None when absent or absurd)."""
    if not value:
        return None
    try:
        return datetime(*value[:6], tzinfo=UTC)
    except (TypeError, ValueError):
        return None


def utc_from_iso(value: object) -> datetime | None:
    """An ISO 8601 string (``Z`` or offset; naive taken as UTC) as an aware UTC datetime."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)

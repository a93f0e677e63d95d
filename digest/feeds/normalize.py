"""Turn untrusted feed strings into clean text, author lists, UTC dates and safe links."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from time import struct_time
from urllib.parse import urlsplit, urlunsplit

import nh3

_WS = re.compile(r"\s+")
# Markup is a complete tag or comment: "a<b" or "p < 0.05" in plain text is not.
_MARKUP = re.compile(r"<(?:[a-zA-Z][^<>]*|/[a-zA-Z][^<>]*|!--.*?--)>", re.DOTALL)
_BLOCK_TAGS = re.compile(r"</?(?:p|br|div|li|tr|h[1-6])\b[^>]*>", re.IGNORECASE)
# Control (Cc), format (Cf: bidi overrides, zero-width), surrogate and private-use chars;
# tab/newline/CR survive here and become spaces below.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f"
    "\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\ud800-\udfff\ue000-\uf8ff]"
)
_INITIALS = re.compile(r"^(?:[A-Z][a-z]?\.\s*-?\s*){1,4}$")  # "N.", "P.-L.", "R. J."
_AND = re.compile(r"\s+(?:and|&)\s+", re.IGNORECASE)
_DOI = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>]+)", re.IGNORECASE)


def clean_text(raw: str | None) -> str:
    """Markup stripped (nh3, so scripts and styles vanish with their content), entities
    decoded, control and format characters removed, whitespace collapsed."""
    if not raw:
        return ""
    text = str(raw)
    if "<" in text and _MARKUP.search(text):
        # Block tags become spaces so "<p>a</p><p>b</p>" does not read "ab".
        text = nh3.clean(_BLOCK_TAGS.sub(" ", text), tags=set())
    text = _INVISIBLE.sub("", html.unescape(text))
    return _WS.sub(" ", text).strip()


def split_authors(raw: str) -> list[str]:
    """Split a joined author string: "A, B and C"; keeps "Surname, I." pairs together
    (bioRxiv style) and an honest "et al." marker."""
    text = clean_text(raw)
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


def safe_url(raw: str | None) -> str | None:
    """The URL if it is an absolute http(s) URL without whitespace or controls, else None."""
    if not raw:
        return None
    url = str(raw).strip()
    if not url or any(ord(c) < 33 or ord(c) == 127 for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


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

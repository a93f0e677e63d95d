"""Turn untrusted feed strings into clean text, ids and safe links."""

from __future__ import annotations

import html
import re
import unicodedata
from urllib.parse import urlsplit

import nh3

_ARXIV_NEW = re.compile(r"(\d{4}\.\d{4,5})(?:v\d+)?")
_ARXIV_OLD = re.compile(r"([a-z\-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?")
_ARXIV_PREFIX = re.compile(r"^\s*arXiv:\S+\s+Announce Type:\s*\S+\s+Abstract:\s*", re.IGNORECASE)
_WS = re.compile(r"\s+")


def clean_text(raw: str | None) -> str:
    """Markup stripped (via nh3), entities decoded, controls removed, whitespace collapsed."""
    if not raw:
        return ""
    text = nh3.clean(raw, tags=set()) if "<" in raw else raw
    text = html.unescape(text)
    text = "".join(
        ch for ch in text
        if ch in "\t\n " or unicodedata.category(ch) not in ("Cc", "Cs", "Cf", "Co", "Cn")
    )
    return _WS.sub(" ", text).strip()


def strip_arxiv_prefix(text: str) -> str:
    return _ARXIV_PREFIX.sub("", text)


def arxiv_id_from(text: str | None) -> str | None:
    """The version-less arXiv id in a URL, guid or 'arXiv:...' string, if any."""
    if not text:
        return None
    if "arxiv" not in text.lower() and not _ARXIV_NEW.fullmatch(text.strip()):
        return None
    match = _ARXIV_NEW.search(text) or _ARXIV_OLD.search(text)
    return match.group(1) if match else None


def safe_url(raw: str | None) -> str | None:
    """The URL if it is an absolute http(s) URL without whitespace or controls, else None."""
    if not raw:
        return None
    url = raw.strip()
    if any(ord(c) < 33 for c in url):
        return None
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url

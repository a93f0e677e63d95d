"""arXiv specifics: canonical ids (new and old style), the RSS abstract prefix, legacy
RSS 1.0 title suffixes, HTML-escaped creators, and the API's error entries."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_NEW_ID = r"\d{4}\.\d{4,5}"
_OLD_ID = r"[a-z]+(?:-[a-z]+)?(?:\.[A-Z]{2})?/\d{7}"
_ID = re.compile(rf"(?<![\w.])({_NEW_ID}|{_OLD_ID})(?:v(\d+))?(?![\w])")
_ARXIV_TEXT = re.compile(rf"arxiv(?:\.org)?[:/\s](?:abs/|pdf/)?\s*({_NEW_ID}|{_OLD_ID})",
                         re.IGNORECASE)
# Hosts whose paper pages are keyed by the arXiv id (HF papers, derived digests).
_ID_HOSTS = ("arxiv.org", "huggingface.co", "tldr.takara.ai", "alphaxiv.org", "arxiv-sanity",
             "paperswithcode.com", "semanticscholar.org/arxiv")
_PREFIX = re.compile(
    r"^\s*arXiv:\s*\S+\s+Announce\s+Type:\s*(?P<type>[\w-]+)\s+Abstract:\s*", re.IGNORECASE
)
# Legacy RSS 1.0 titles: "Title. (arXiv:2007.03939v2 [hep-ph] UPDATED)"
_LEGACY_SUFFIX = re.compile(
    r"\s*\(arXiv:\s*(?P<id>\S+?)\s*(?:\[(?P<cat>[^\]]*)\])?\s*(?P<flag>UPDATED|CROSS LISTED)?\)\s*$"
)
API_ERROR_MARK = "arxiv.org/api/errors"


def arxiv_id_from(text: str | None, *, bare_ok: bool = False) -> str | None:
    """The version-less arXiv id in a URL, guid or 'arXiv:...' string, if any.

    A bare id ("2401.01234") counts only with ``bare_ok`` (the HF JSON gives ids bare);
    elsewhere an id must sit on a host known to key pages by arXiv id or after "arXiv:".
    """
    if not text:
        return None
    text = str(text).strip()
    if bare_ok:
        match = _ID.fullmatch(text)
        if match:
            return match.group(1)
    lowered = text.lower()
    if lowered.startswith(("http://", "https://")):
        parts = urlsplit(text)
        where = (parts.netloc + parts.path).lower()
        if not any(host in where for host in _ID_HOSTS):
            return None
        match = _ID.search(parts.path)
        return match.group(1) if match else None
    if "oai:arxiv.org:" in lowered:
        match = _ID.search(text.split(":", 2)[2])
        return match.group(1) if match else None
    match = _ARXIV_TEXT.search(text)
    return match.group(1) if match else None


def split_abstract_prefix(text: str) -> tuple[str, str | None]:
    """(abstract without the "arXiv:… Announce Type: x Abstract:" prefix, x or None)."""
    match = _PREFIX.match(text)
    if not match:
        return text, None
    return text[match.end():], match.group("type").lower()


def split_legacy_title(title: str) -> tuple[str, str | None, str | None, str | None]:
    """(clean title, arXiv id, announce type, primary category) for old RSS 1.0 titles
    like "Title. (arXiv:2007.03939v2 [hep-ph] UPDATED)"; others come back unchanged."""
    match = _LEGACY_SUFFIX.search(title)
    if not match:
        return title, None, None, None
    flag = match.group("flag")
    announce = {"UPDATED": "replace", "CROSS LISTED": "cross"}.get(flag or "", "new")
    ident = arxiv_id_from("arXiv:" + match.group("id"))
    return title[: match.start()].rstrip(" ."), ident, announce, match.group("cat") or None


def is_api_error_entry(entry_id: str | None, title: str | None) -> bool:
    return bool(entry_id and API_ERROR_MARK in entry_id) or ((title or "").strip() == "Error" and \
        bool(entry_id and "arxiv.org/api" in entry_id))


def pdf_url(arxiv_id: str) -> str:
    return f"https://arxiv.org/pdf/{arxiv_id}"


def abs_url(arxiv_id: str) -> str:
    return f"https://arxiv.org/abs/{arxiv_id}"

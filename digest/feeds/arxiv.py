"""arXiv specifics: canonical ids (new and old style) and versions, how an entry was announced,
the RSS abstract prefix, legacy RSS 1.0 title suffixes, and the API's error entries.

What the fields mean, from arXiv's own documentation:

- RSS/Atom feeds (https://info.arxiv.org/help/rss_specifications.html): ``<title>`` and
  ``<description>`` are plain text, the description being "arXiv ID; Announce Type ...;
  Abstract"; ``<arxiv:announce_type>`` is ``new`` ("papers that are released for the first
  time on arXiv"), ``cross`` ("announced as new to categories that are not their primary
  category"), or ``replace`` / ``replace-cross`` ("updated versions of papers"); ``<pubDate>``
  is the day of *this* announcement, a replacement's included.
- The API (https://info.arxiv.org/help/api/user-manual.html, 3.3.2): ``<title>`` and
  ``<summary>`` are Atom text constructs; ``<id>`` ends in the version
  (``.../abs/2611.09001v1``); ``<published>`` is when version 1 was submitted and
  ``<updated>`` when the retrieved version was, equal only for version 1. The API has no
  announce type: a version above 1 is the same signal as ``replace``.
- Legacy RSS 1.0 titles end "(arXiv:ID [cat] UPDATED)" for a replacement and "CROSS LISTED"
  for a cross-list.

Only ``new`` and ``cross`` are new work; see ``models.REVISIONS``.
"""

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
ANNOUNCE_TYPES = ("new", "cross", "replace", "replace-cross")


def arxiv_version_from(*texts: str | None) -> int | None:
    """The version in the first of ``texts`` that names one (``oai:arXiv.org:1905.07799v4``,
    ``http://arxiv.org/abs/2611.09001v1``, ``arXiv:1905.07799v4``), else None."""
    for text in texts:
        if text:
            match = _ID.search(str(text))
            if match and match.group(2):
                return int(match.group(2))
    return None


def announce_type(declared: str | None, *, prefix: str | None = None,
                  legacy: str | None = None, version: int | None = None) -> str | None:
    """How arXiv announced an entry: its ``<arxiv:announce_type>``, else the description's
    "Announce Type:", else a legacy title flag, else (the API, relays) the version: 1 is
    new, above 1 a replacement. None when nothing says."""
    for value in (declared, prefix, legacy):
        if value and value.strip():
            return value.strip().lower()[:40]
    if version is not None:
        return "new" if version <= 1 else "replace"
    return None


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

"""One feedparser entry (arXiv RSS/Atom/API, legacy RDF, HF RSS, any feed) → one Paper.

Each text field is read by its content type (feedparser's ``*_detail['type']``): text is
``plain_text``, HTML is ``markup_to_text``. arXiv's own titles and descriptions are plain
text whatever RSS readers assume (https://info.arxiv.org/help/rss_specifications.html), so
an entry in arXiv's format is read as text throughout: "<think>" in an abstract is a word.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any

from digest.feeds import arxiv
from digest.feeds.hf import fields_from_description
from digest.feeds.normalize import doi_from, normalize_link, split_authors, utc_from_struct
from digest.models import Paper
from digest.text import http_url, markup_to_text, plain_text

MAX_ID = 300  # schema: papers.id is String(300)
_COLLAB = re.compile(r"(collaboration|consortium|team|group)\s*:\s*", re.IGNORECASE)
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", "html", "xhtml"})
# A name that holds a complete element ("<a href=…>R. Aaij</a>", legacy arXiv RDF) is HTML;
# feedparser gives names no type, and in Atom they are always text.
_ELEMENT = re.compile(r"</[A-Za-z][A-Za-z0-9]*\s*>")


def _detail(entry: Any, name: str) -> tuple[str, str]:
    """(raw value, content type) of a text construct; the summary falls back to content."""
    detail = entry.get(f"{name}_detail") or {}
    value = entry.get(name) or ""
    if name == "summary" and entry.get("content") and (not value or not detail):
        detail = entry["content"][0]  # feedparser copies content to a summary with no detail
        value = value or detail.get("value") or ""
    return str(value), str(detail.get("type") or "text/plain").lower()


def _as_text(value: str, content_type: str, *, plain: bool = False) -> str:
    if plain or content_type not in HTML_TYPES:
        return plain_text(value)
    return markup_to_text(value)


def _authors(entry: Any, *, atom: bool) -> list[str]:
    names = [str(a.get("name") or "") for a in entry.get("authors") or [] if a]
    if not names and entry.get("author"):
        names = [str(entry["author"])]
    out: list[str] = []
    for name in names:
        clean = markup_to_text(name) if not atom and _ELEMENT.search(name) else plain_text(name)
        text = _COLLAB.sub(r"\1, ", clean)
        out.extend(split_authors(text) if "," in text or " and " in text else [text])
    return [a for a in dict.fromkeys(out) if a]


def _links(entry: Any, arxiv_id: str | None) -> tuple[str | None, str | None]:
    """(landing page, PDF). arXiv papers link to arXiv whatever mirror carried them."""
    link = http_url(entry.get("link"))
    pdf = None
    for item in entry.get("links") or []:
        href = http_url(item.get("href"))
        if href and (item.get("type") == "application/pdf" or item.get("title") == "pdf"):
            pdf = href
    if arxiv_id:
        return arxiv.abs_url(arxiv_id), arxiv.pdf_url(arxiv_id)
    return link, pdf


def _bounded(pid: str) -> str:
    """Ids fit the store's 300-character key: an overlong link becomes its hash."""
    if len(pid) <= MAX_ID:
        return pid
    kind = pid.split(":", 1)[0]
    return f"{kind}:sha256:{hashlib.sha256(pid.encode('utf-8', 'replace')).hexdigest()}"


def _canonical_id(entry: Any, title_id: str | None) -> tuple[str | None, str | None]:
    """(canonical id, arXiv id or None): arXiv id, else DOI, else normalized link/guid."""
    guid, link = entry.get("id"), entry.get("link")
    arxiv_id = (arxiv.arxiv_id_from(guid) or arxiv.arxiv_id_from(link) or title_id
                or arxiv.arxiv_id_from(entry.get("arxiv_doi")))
    if arxiv_id:
        return arxiv_id, arxiv_id
    for candidate in (entry.get("arxiv_doi"), entry.get("dc_identifier"), entry.get("prism_doi"),
                      guid if guid and "doi" in str(guid).lower() else None):
        doi = doi_from(candidate)
        if doi:
            return _bounded(f"doi:{doi}"), None
    url = http_url(link) or http_url(guid)
    if url:
        return _bounded("url:" + normalize_link(url)), None
    text = plain_text(guid)
    return (_bounded(f"guid:{text}") if text else None), None


def paper_from_entry(entry: Any, source: str, *, hf_fields: bool = False,
                     feed_date: datetime | None = None, atom: bool = False,
                     arxiv_text: bool = False) -> Paper:
    """The Paper an entry describes, normalized field by field; ``id`` or ``title`` is ""
    when the entry has none (the caller rejects those: a paper needs both). Entries
    without dates (legacy RDF) take ``feed_date``, the channel's date. ``atom``: the feed
    is Atom (names are text); ``arxiv_text``: the feed is arXiv's own (plain-text fields).
    """
    raw_title, title_type = _detail(entry, "title")
    raw, summary_type = _detail(entry, "summary")
    # RSS in arXiv's format: its own feed, or any entry whose description is arXiv's
    # "arXiv:ID Announce Type: … Abstract:" text (RSS readers take it for HTML). Atom says
    # each field's type itself, and is believed.
    plain = not atom and (arxiv_text or arxiv.split_abstract_prefix(raw)[1] is not None)
    title, title_id, title_type_flag, title_cat = arxiv.split_legacy_title(
        _as_text(raw_title, title_type, plain=plain))
    pid, arxiv_id = _canonical_id(entry, title_id)
    extra = fields_from_description(raw) if hf_fields or "<b>Upvotes" in raw else {}
    abstract, prefix_type = arxiv.split_abstract_prefix(
        extra.get("abstract") or _as_text(raw, summary_type, plain=plain))
    authors = extra.get("authors") or _authors(entry, atom=atom)
    url, pdf = _links(entry, arxiv_id)
    categories = [plain_text(t.get("term")) for t in entry.get("tags") or [] if t.get("term")]
    categories += [title_cat] if title_cat else []
    version = (arxiv.arxiv_version_from(entry.get("id"), entry.get("link"), raw_title)
               if arxiv_id else None)
    if arxiv_id and version is None and raw.lstrip()[:6].lower() == "arxiv:":
        version = arxiv.arxiv_version_from(raw[:80])
    announce = arxiv.announce_type(plain_text(entry.get("arxiv_announce_type")),
                                   prefix=prefix_type, legacy=title_type_flag,
                                   version=version) if arxiv_id else None
    published = utc_from_struct(entry.get("published_parsed"))
    # dict.get: feedparser's own .get maps a missing updated to published, with a warning.
    updated = utc_from_struct(dict.get(entry, "updated_parsed"))
    return Paper(
        id=pid or "",
        title=title,
        abstract=abstract.strip(),
        authors=tuple(authors),
        url=url,
        pdf_url=pdf,
        categories=tuple(c for c in dict.fromkeys(categories) if c),
        published=published or updated or feed_date,
        updated=updated,
        sources=(source,),
        upvotes=extra.get("upvotes"),
        comments=extra.get("comments"),
        stars=extra.get("stars"),
        announce_type=announce,
        version=version,
    )

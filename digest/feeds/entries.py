"""One feedparser entry (arXiv RSS/Atom/API, legacy RDF, HF RSS, any feed) → one Paper."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any

from digest.feeds import arxiv
from digest.feeds.hf import fields_from_description
from digest.feeds.normalize import doi_from, normalize_link, split_authors, utc_from_struct
from digest.models import Paper
from digest.text import http_url, markup_to_text

MAX_ID = 300  # schema: papers.id is String(300)
_COLLAB = re.compile(r"(collaboration|consortium|team|group)\s*:\s*", re.IGNORECASE)


def _raw_summary(entry: Any) -> str:
    summary = entry.get("summary") or ""
    if not summary and entry.get("content"):
        summary = entry["content"][0].get("value") or ""
    return str(summary)


def _authors(entry: Any) -> list[str]:
    names = [str(a.get("name") or "") for a in entry.get("authors") or [] if a]
    if not names and entry.get("author"):
        names = [str(entry["author"])]
    out: list[str] = []
    for name in names:
        text = _COLLAB.sub(r"\1, ", markup_to_text(name))
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
    text = markup_to_text(guid)
    return (_bounded(f"guid:{text}") if text else None), None


def paper_from_entry(entry: Any, source: str, *, hf_fields: bool = False,
                     feed_date: datetime | None = None) -> Paper:
    """The Paper an entry describes, normalized field by field; ``id`` or ``title`` is ""
    when the entry has none (the caller rejects those: a paper needs both). Entries
    without dates (legacy RDF) take ``feed_date``, the channel's date."""
    title, title_id, title_type, title_cat = arxiv.split_legacy_title(
        markup_to_text(entry.get("title")))
    pid, arxiv_id = _canonical_id(entry, title_id)
    raw = _raw_summary(entry)
    extra = fields_from_description(raw) if hf_fields or "<b>Upvotes" in raw else {}
    abstract, prefix_type = arxiv.split_abstract_prefix(extra.get("abstract") or markup_to_text(raw))
    authors = extra.get("authors") or _authors(entry)
    url, pdf = _links(entry, arxiv_id)
    categories = [markup_to_text(t.get("term")) for t in entry.get("tags") or [] if t.get("term")]
    categories += [title_cat] if title_cat else []
    announce = markup_to_text(entry.get("arxiv_announce_type")).lower() or prefix_type or title_type
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
        announce_type=(announce or "")[:40] or None,
    )

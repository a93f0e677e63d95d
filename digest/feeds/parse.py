"""Parse feed bytes (RSS/Atom via feedparser) into normalized Papers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from time import struct_time
from typing import Any

import feedparser

from digest.feeds.normalize import arxiv_id_from, clean_text, safe_url, strip_arxiv_prefix
from digest.models import Paper


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """The papers recovered from one document, and what went wrong if anything did."""

    papers: list[Paper] = field(default_factory=list)
    error: str | None = None
    title: str = ""


def _when(value: struct_time | None) -> datetime | None:
    if not value:
        return None
    return datetime(*value[:6], tzinfo=UTC)


def _paper_from_entry(entry: Any, source: str) -> Paper | None:
    link = safe_url(entry.get("link"))
    arxiv_id = arxiv_id_from(entry.get("id")) or arxiv_id_from(link)
    title = clean_text(entry.get("title"))
    if not title:
        return None
    if arxiv_id:
        pid = arxiv_id
        link = link or f"https://arxiv.org/abs/{arxiv_id}"
    elif link or entry.get("id"):
        pid = "url:" + (link or str(entry.get("id")))
    else:
        return None
    abstract = strip_arxiv_prefix(clean_text(entry.get("summary")))
    authors = tuple(
        name for name in (clean_text(a.get("name")) for a in entry.get("authors", [])) if name
    )
    if len(authors) == 1 and "," in authors[0]:  # arXiv RSS joins authors in dc:creator
        authors = tuple(a.strip() for a in authors[0].split(",") if a.strip())
    categories = tuple(t.get("term") for t in entry.get("tags", []) if t.get("term"))
    return Paper(
        id=pid,
        title=title,
        abstract=abstract,
        authors=authors,
        url=link,
        pdf_url=f"https://arxiv.org/pdf/{arxiv_id}" if arxiv_id else None,
        categories=categories,
        published=_when(entry.get("published_parsed")),
        updated=_when(entry.get("updated_parsed")),
        sources=(source,),
        announce_type=entry.get("arxiv_announce_type"),
    )


def parse_feed(data: bytes, *, source: str) -> ParsedFeed:
    """Every paper feedparser can recover from ``data``; ``error`` says why it is partial."""
    parsed = feedparser.parse(data)
    papers = [p for p in (_paper_from_entry(e, source) for e in parsed.entries) if p]
    error = None
    if parsed.get("bozo") and not papers:
        error = f"not a readable feed: {parsed.get('bozo_exception')}"
    elif parsed.get("bozo") and parsed.get("bozo_exception") is not None:
        exc = parsed["bozo_exception"]
        if not isinstance(exc, feedparser.CharacterEncodingOverride):
            error = f"feed partly unreadable, kept {len(papers)} entries: {exc}"
    return ParsedFeed(papers=papers, error=error, title=clean_text(parsed.feed.get("title")))

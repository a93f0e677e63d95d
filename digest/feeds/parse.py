"""Parse one document (RSS/Atom/RDF via feedparser, or HF daily papers JSON) into Papers,
saying clearly when it is not a feed, is partly unreadable, or is an arXiv API error."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import feedparser

from digest.errors import FeedError
from digest.feeds import arxiv, hf
from digest.feeds.detect import detect_kind, not_a_feed_reason
from digest.feeds.entries import paper_from_entry
from digest.feeds.normalize import utc_from_struct
from digest.models import Paper
from digest.text import markup_to_text

# feedparser flags these as bozo but still decodes the document correctly or by a good guess.
_BENIGN = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """The papers recovered from one document, and what went wrong if anything did.

    ``error`` set means the fetch counts as failed (even when some papers were recovered,
    as from a truncated download); ``warning`` is worth showing but not a failure.
    """

    papers: list[Paper] = field(default_factory=list)
    error: str | None = None
    title: str = ""
    kind: str = "rss"
    encoding: str | None = None
    warning: str | None = None
    entries: int = 0  # entries in the document, including those that made no paper
    rejected: list[Paper] = field(default_factory=list)  # normalized, but no title or id

    @property
    def skipped(self) -> int:
        return len(self.rejected)


def _describe(exc: BaseException | None) -> str:
    text = markup_to_text(str(exc)) if exc is not None else ""
    return text or (type(exc).__name__ if exc is not None else "unknown problem")


def _parse_json(data: bytes, source: str) -> ParsedFeed:
    try:
        papers = hf.parse_daily_papers(data, source)
    except FeedError as exc:
        return ParsedFeed(error=f"not a feed: {exc}", kind="hf-json")
    return ParsedFeed(papers=papers, title="Hugging Face daily papers", kind="hf-json",
                      encoding="utf-8", entries=len(papers))


def _papers(entries: list[Any], source: str, kind: str, feed_date: datetime | None
            ) -> tuple[list[Paper], list[Paper], list[str], list[str]]:
    """(papers, rejected, arXiv API error messages, entries that broke normalization)."""
    papers: list[Paper] = []
    rejected: list[Paper] = []
    api_errors: list[str] = []
    broken: list[str] = []
    for entry in entries:
        try:
            if arxiv.is_api_error_entry(entry.get("id"), entry.get("title")):
                api_errors.append(markup_to_text(entry.get("summary")) or "unspecified error")
                continue
            paper = paper_from_entry(entry, source, hf_fields=kind == "hf-rss",
                                     feed_date=feed_date)
        except Exception as exc:
            broken.append(f"{type(exc).__name__}: {exc}")
            continue
        (papers if paper.id and paper.title else rejected).append(paper)
    return papers, rejected, api_errors, broken


def parse_feed(data: bytes, *, source: str, kind: str = "auto", url: str = "",
               content_type: str | None = None) -> ParsedFeed:
    """Every paper that can be recovered from ``data``; ``error`` says why it is partial."""
    reason = not_a_feed_reason(data, content_type)
    if reason:
        return ParsedFeed(error=reason)
    if kind == "auto":
        kind = detect_kind(data, url=url)
    if kind == "hf-json" or hf.looks_like_daily_papers(data[:64]):
        return _parse_json(data, source)
    headers = {"content-type": content_type} if content_type else None
    try:
        # feedparser's sanitizer first (it drops iframes with their content, which nh3 would
        # keep as raw text), then nh3 on every field we keep.
        parsed = feedparser.parse(data, response_headers=headers, sanitize_html=True,
                                  resolve_relative_uris=False)
    except Exception as exc:
        return ParsedFeed(error=f"unreadable feed: {_describe(exc)}", kind=kind)
    entries = list(parsed.get("entries") or [])
    channel = parsed.get("feed", {})
    feed_date = utc_from_struct(dict.get(channel, "updated_parsed")
                                or dict.get(channel, "published_parsed"))
    papers, rejected, api_errors, broken = _papers(entries, source, kind, feed_date)
    title = markup_to_text(channel.get("title"))
    encoding = parsed.get("encoding")
    error = warning = None
    bozo = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if api_errors:
        error = "arXiv API error: " + "; ".join(api_errors)
    elif broken:  # a bug on our side must be loud, not a quiet short feed
        error = f"{len(broken)} entries could not be normalized (first: {broken[0][:200]})"
    elif bozo is not None and isinstance(bozo, _BENIGN):
        warning = f"{_describe(bozo)} (read as {encoding})"
    elif bozo is not None and papers:
        error = f"feed is malformed ({_describe(bozo)}); kept the {len(papers)} entries recovered"
    elif bozo is not None:
        error = f"not a readable feed: {_describe(bozo)}"
    elif not parsed.get("version") and not entries:
        error = "not a feed: no RSS, Atom or RDF document found"
    if error is None and warning is None and rejected:
        warning = f"{len(rejected)} of {len(entries)} entries had no title or no link/id"
    return ParsedFeed(papers=papers, error=error, title=title, kind=kind, encoding=encoding,
                      warning=warning, entries=len(entries), rejected=rejected)

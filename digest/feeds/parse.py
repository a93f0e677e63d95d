"""Parse one document (RSS/Atom/RDF via feedparser, or HF daily papers JSON) into Papers,
saying clearly when it is not a feed, is partly unreadable, or is an arXiv API error, and
what was done to keep its text faithful (bytes replaced, mojibake repaired, entries beyond
the limit left unread)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import feedparser

from digest.errors import FeedError
from digest.feeds import arxiv, hf
from digest.feeds.detect import detect_kind, not_a_feed_reason
from digest.feeds.encoding import as_declared_utf8
from digest.feeds.entries import paper_from_entry
from digest.feeds.fidelity import faithful
from digest.feeds.normalize import utc_from_struct
from digest.models import Paper
from digest.text import markup_to_text, plain_text

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
    over_limit: int = 0  # entries past ``max_entries``, left unread
    replaced_bytes: int = 0  # invalid UTF-8 sequences replaced by U+FFFD
    repaired: int = 0  # papers whose text had mojibake repaired

    @property
    def skipped(self) -> int:
        return len(self.rejected)

    def fidelity_notes(self) -> list[str]:
        """What was done to the text and the entries, one phrase each (empty: nothing)."""
        notes = []
        if self.over_limit:
            notes.append(f"entry limit: read the first {self.entries - self.over_limit:,} of "
                         f"{self.entries:,} entries (DIGEST_FEED_MAX_ENTRIES)")
        if self.replaced_bytes:
            notes.append(f"declared UTF-8: {self.replaced_bytes} invalid byte sequence"
                         f"{'s' if self.replaced_bytes != 1 else ''} replaced with U+FFFD")
        if self.repaired:
            notes.append(f"mojibake repaired in {self.repaired} paper"
                         f"{'s' if self.repaired != 1 else ''}")
        return notes


def _describe(exc: BaseException | None) -> str:
    text = markup_to_text(str(exc)) if exc is not None else ""
    return text or (type(exc).__name__ if exc is not None else "unknown problem")


def _faithful(papers: list[Paper]) -> tuple[list[Paper], int]:
    """(papers with faithful text, how many had mojibake repaired)."""
    out: list[Paper] = []
    repaired = 0
    for paper in papers:
        fixed, was_repaired = faithful(paper)
        out.append(fixed)
        repaired += was_repaired
    return out, repaired


def _parse_json(data: bytes, source: str, max_entries: int | None) -> ParsedFeed:
    try:
        papers, replaced = hf.parse_daily_papers(data, source)
    except FeedError as exc:
        return ParsedFeed(error=f"not a feed: {exc}", kind="hf-json")
    total = len(papers)
    kept = papers if max_entries is None else papers[:max_entries]
    kept, repaired = _faithful(kept)
    return ParsedFeed(papers=kept, title="Hugging Face daily papers", kind="hf-json",
                      encoding="utf-8", entries=total, over_limit=total - len(kept),
                      replaced_bytes=replaced, repaired=repaired)


@dataclass(slots=True)
class _Entries:
    papers: list[Paper] = field(default_factory=list)
    rejected: list[Paper] = field(default_factory=list)
    api_errors: list[str] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)  # entries that broke normalization
    repaired: int = 0


def _papers(entries: list[Any], source: str, kind: str, feed_date: datetime | None,
            version: str) -> _Entries:
    out = _Entries()
    atom = version.startswith("atom")
    # arXiv's own RSS (not the legacy RSS 1.0, whose descriptions were HTML) writes titles
    # and abstracts as plain text (see feeds.arxiv); Atom (arXiv's included) declares types.
    arxiv_text = kind in ("arxiv", "arxiv-api") and version.startswith("rss2")
    for entry in entries:
        try:
            if arxiv.is_api_error_entry(entry.get("id"), entry.get("title")):
                out.api_errors.append(plain_text(entry.get("summary")) or "unspecified error")
                continue
            paper, repaired = faithful(paper_from_entry(
                entry, source, hf_fields=kind == "hf-rss", feed_date=feed_date, atom=atom,
                arxiv_text=arxiv_text))
        except Exception as exc:
            out.broken.append(f"{type(exc).__name__}: {exc}")
            continue
        out.repaired += repaired
        (out.papers if paper.id and paper.title else out.rejected).append(paper)
    return out


def parse_feed(data: bytes, *, source: str, kind: str = "auto", url: str = "",
               content_type: str | None = None, max_entries: int | None = None) -> ParsedFeed:
    """Every paper that can be recovered from ``data`` (from the first ``max_entries``
    entries, when given); ``error`` says why it is partial."""
    reason = not_a_feed_reason(data, content_type)
    if reason:
        return ParsedFeed(error=reason)
    if kind == "auto":
        kind = detect_kind(data, url=url)
    if kind == "hf-json" or hf.looks_like_daily_papers(data[:64]):
        return _parse_json(data, source, max_entries)
    data, replaced = as_declared_utf8(data, content_type)
    headers = {"content-type": content_type} if content_type else None
    try:
        # No sanitizer here: it would treat arXiv's plain-text abstracts as HTML and delete
        # "<think>". Each field is turned into text by its own type (feeds.entries).
        parsed = feedparser.parse(data, response_headers=headers, sanitize_html=False,
                                  resolve_relative_uris=False)
    except Exception as exc:
        return ParsedFeed(error=f"unreadable feed: {_describe(exc)}", kind=kind)
    entries = list(parsed.get("entries") or [])
    channel = parsed.get("feed", {})
    feed_date = utc_from_struct(dict.get(channel, "updated_parsed")
                                or dict.get(channel, "published_parsed"))
    read = entries if max_entries is None else entries[:max_entries]
    got = _papers(read, source, kind, feed_date, str(parsed.get("version") or ""))
    papers, rejected, api_errors, broken = got.papers, got.rejected, got.api_errors, got.broken
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
        warning = f"{len(rejected)} of {len(read)} entries had no title or no link/id"
    return ParsedFeed(papers=papers, error=error, title=title, kind=kind, encoding=encoding,
                      warning=warning, entries=len(entries), rejected=rejected,
                      over_limit=len(entries) - len(read), replaced_bytes=replaced,
                      repaired=got.repaired)

"""Feed kinds and auto-detection from the first bytes of a document.

Detection is only a hint for what is arXiv-specific; every XML kind goes through
feedparser, so a wrong guess degrades to the generic path, never to lost entries.
"""

from __future__ import annotations

import re

KINDS = ("auto", "arxiv", "arxiv-api", "hf-json", "hf-rss", "rss")

# The root element after any XML declaration, doctypes and comments: "<html" means a page.
_HTML_ROOT = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!doctype[^>]*>\s*|<!--.*?-->\s*)*<html[\s>]",
    re.IGNORECASE | re.DOTALL)
_HTML_DOCTYPE = re.compile(rb"<!doctype\s+html", re.IGNORECASE)
_FEED_ROOT = re.compile(rb"<(?:rss|feed|rdf:RDF|channel)[\s>]", re.IGNORECASE)
_XMLISH = re.compile(rb"^\s*<")


def _head(data: bytes) -> bytes:
    """The first bytes as UTF-8, whatever BOM or UTF-16/32 layout they came in."""
    head = data[:4096]
    boms = ((b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
            (b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
    for bom, codec in boms:
        if head.startswith(bom):
            return head[len(bom):].decode(codec, "ignore").encode("utf-8")
    layouts = {b"\x00\x00\x00<": "utf-32-be", b"<\x00\x00\x00": "utf-32-le",
               b"\x00<\x00?": "utf-16-be", b"<\x00?\x00": "utf-16-le"}
    layout = layouts.get(head[:4])
    return head.decode(layout, "ignore").encode("utf-8") if layout else head


def not_a_feed_reason(data: bytes, content_type: str | None = None) -> str | None:
    """Why ``data`` is clearly not a feed (empty body, an HTML page), or None."""
    if not data.strip():
        return "empty body: the server sent no feed"
    head = _head(data)
    if _HTML_ROOT.match(head) or (_HTML_DOCTYPE.search(head) and not _FEED_ROOT.search(head)):
        return "an HTML page was served instead of a feed"
    if content_type and "html" in content_type.lower() and not _XMLISH.match(head):
        return f"the server sent {content_type.split(';')[0]}, not a feed"
    if not _XMLISH.match(head) and head.lstrip()[:1] not in (b"[", b"{"):
        return "not a feed: the document is neither XML nor JSON"
    return None


def detect_kind(data: bytes, *, url: str = "") -> str:
    """The most specific kind that fits ``data`` (falls back to generic ``rss``)."""
    head = _head(data).lstrip()
    if head[:1] in (b"[", b"{"):
        return "hf-json"
    lowered = head.lower()
    if b"arxiv.org/api" in lowered or b"export.arxiv.org" in url.encode().lower():
        return "arxiv-api"
    if b"rss.arxiv.org" in lowered or b"arxiv.org/schemas/atom" in lowered or (
        b"arxiv.org" in lowered and b"rdf" in lowered[:600]
    ):
        return "arxiv"
    if b"hugging face" in lowered or b"huggingface.co/papers" in lowered:
        return "hf-rss"
    return "rss"

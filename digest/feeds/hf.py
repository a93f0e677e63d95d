"""Hugging Face daily papers: the ``/api/daily_papers`` JSON (plain-text strings) and the RSS
renderings of it (upvotes and authors inside an escaped-HTML description)."""

from __future__ import annotations

import json
import re
from typing import Any

from digest.errors import FeedError
from digest.feeds.arxiv import abs_url, arxiv_id_from, pdf_url
from digest.feeds.normalize import split_authors, utc_from_iso
from digest.models import Paper
from digest.text import http_url, markup_to_text, plain_text

_FIELD = re.compile(r"<b>\s*(Authors|Upvotes|Summary|Comments|Stars):?\s*</b>:?\s*(.*?)</p>",
                    re.IGNORECASE | re.DOTALL)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return max(value, 0)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _paper_from_item(item: dict[str, Any], source: str) -> Paper | None:
    paper = item.get("paper")
    inner: dict[str, Any] = paper if isinstance(paper, dict) else item
    ident = arxiv_id_from(str(inner.get("id") or ""), bare_ok=True)
    title = plain_text(inner.get("title") or item.get("title"))
    if not title:
        return None
    url: str | None  # an arXiv link always; an HF one only when it passes safe_url
    pdf: str | None  # arXiv papers only
    if ident:
        pid, url, pdf = ident, abs_url(ident), pdf_url(ident)
    elif inner.get("id"):
        raw = plain_text(str(inner["id"]))
        pid, url, pdf = f"hf:{raw}", http_url(f"https://huggingface.co/papers/{raw}"), None
    else:
        return None
    authors = [
        plain_text(a.get("name")) for a in inner.get("authors") or []
        if isinstance(a, dict) and not a.get("hidden") and plain_text(a.get("name"))
    ]
    summary = plain_text(inner.get("ai_summary")) or None
    return Paper(
        id=pid,
        title=title,
        abstract=plain_text(inner.get("summary") or item.get("summary")),
        authors=tuple(authors),
        url=url,
        pdf_url=pdf,
        code_url=http_url(inner.get("githubRepo")),
        published=utc_from_iso(inner.get("publishedAt") or item.get("publishedAt")),
        sources=(source,),
        summary=summary,
        upvotes=_int(inner.get("upvotes")),
        comments=_int(item.get("numComments")),
        stars=_int(inner.get("githubStars")),
    )


def parse_daily_papers(data: bytes, source: str) -> tuple[list[Paper], int]:
    """(papers from a ``/api/daily_papers`` response (a JSON list of {paper: {...}, ...}),
    how many invalid UTF-8 sequences were replaced: JSON is UTF-8 by definition, RFC 8259)."""
    text = data.decode("utf-8-sig", "replace")
    replaced = text.count("\ufffd") - data.count("\ufffd".encode())
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FeedError(f"not valid JSON: {exc}") from exc
    if isinstance(doc, dict):
        doc = doc.get("papers") or doc.get("dailyPapers") or doc.get("data")
    if not isinstance(doc, list):
        raise FeedError("JSON is not a Hugging Face daily papers list")
    items = [i for i in doc if isinstance(i, dict)]
    if doc and not any(isinstance(i.get("paper"), dict) or "title" in i for i in items):
        raise FeedError("JSON is not a Hugging Face daily papers list")
    return [p for p in (_paper_from_item(i, source) for i in items) if p], replaced


def fields_from_description(raw_html: str) -> dict[str, Any]:
    """Authors/upvotes/summary written as "<p><b>Upvotes:</b> 12</p>" in HF-papers RSS."""
    found: dict[str, Any] = {}
    for label, value in _FIELD.findall(raw_html or ""):
        key, text = label.lower(), markup_to_text(value)
        if key == "authors":
            found["authors"] = split_authors(text)
        elif key in ("upvotes", "comments", "stars"):
            found[key] = _int(text.replace(",", ""))
        else:
            found["abstract"] = text
    return found


def looks_like_daily_papers(head: bytes) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return text[:1] in (b"[", b"{")

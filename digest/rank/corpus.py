"""A minimal feed loader for ``digest rank --feed`` until ``digest.feeds`` replaces it.

Reads arXiv/RSS/Atom files with feedparser and Hugging Face daily-papers JSON; no network.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser

from digest.errors import FeedError
from digest.models import Paper
from digest.rank.profile import arxiv_id

_TAGS = re.compile(r"<[^>]+>")
_ABS = re.compile(r"arxiv\.org/(?:abs|pdf)/([^?#\s]+?)(?:\.pdf)?$")
_CTRL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# arXiv RSS descriptions start "arXiv:2508.13167v1 Announce Type: new Abstract: ..."
_RSS_PREFIX = re.compile(r"^(?:arXiv:\S+\s+Announce Type:\s*\S+\s+)?Abstract:\s*")


def _clean(text: str | None) -> str:
    text = html.unescape(_TAGS.sub(" ", text or ""))
    return " ".join(_CTRL.sub(" ", text).split())


def _when(struct: Any) -> datetime | None:
    try:
        return datetime(*struct[:6], tzinfo=UTC) if struct else None
    except (TypeError, ValueError):
        return None


def _iso(value: Any) -> datetime | None:
    try:
        when = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when and when.tzinfo is None else when


def _entry_id(entry: Mapping[str, Any]) -> str:
    for key in ("id", "link"):
        value = str(entry.get(key) or "")
        m = _ABS.search(value)
        found = arxiv_id(m.group(1)) if m else arxiv_id(value.removeprefix("oai:arXiv.org:"))
        if found:
            return found
    return "url:" + str(entry.get("link") or entry.get("id") or entry.get("title", ""))


def papers_from_feed(data: bytes, *, source: str) -> list[Paper]:
    """Papers in one RSS/Atom document (feedparser tolerates truncated and ill-formed XML)."""
    parsed = feedparser.parse(data)
    if parsed.bozo and not parsed.entries:
        raise FeedError(f"{source}: not a feed ({parsed.get('bozo_exception')})")
    out = []
    for e in parsed.entries:
        title = _clean(e.get("title"))
        if not title:
            continue
        authors = tuple(_clean(a.get("name")) for a in e.get("authors", []) if a.get("name"))
        out.append(
            Paper(
                id=_entry_id(e),
                title=title,
                abstract=_RSS_PREFIX.sub("", _clean(e.get("summary"))),
                authors=authors,
                url=e.get("link"),
                categories=tuple(t["term"] for t in e.get("tags", []) if t.get("term")),
                published=_when(e.get("published_parsed") or e.get("updated_parsed")),
                sources=(source,),
            )
        )
    return out


def papers_from_hf_json(data: bytes, *, source: str) -> list[Paper]:
    """Papers in a Hugging Face ``/api/daily_papers`` response (a list of {paper: ...})."""
    try:
        items = json.loads(data)
    except ValueError as exc:
        raise FeedError(f"{source}: not JSON") from exc
    out = []
    for item in items if isinstance(items, list) else []:
        p = item.get("paper", item) if isinstance(item, dict) else {}
        if not isinstance(p, dict) or not p.get("id") or not p.get("title"):
            continue
        out.append(
            Paper(
                id=arxiv_id(str(p["id"])) or f"url:{p['id']}",
                title=_clean(p["title"]),
                abstract=_clean(p.get("summary")),
                authors=tuple(_clean(a.get("name")) for a in p.get("authors", []) if a.get("name")),
                url=f"https://arxiv.org/abs/{p['id']}",
                published=_iso(p.get("publishedAt")),
                sources=(source,),
                summary=_clean(p.get("ai_summary")) or None,
                upvotes=p.get("upvotes") if isinstance(p.get("upvotes"), int) else None,
                comments=item.get("numComments") if isinstance(item, dict) else None,
            )
        )
    return out


def load_papers_from_files(paths: Iterable[str | Path]) -> list[Paper]:
    """Papers from feed files, de-duplicated by id (first file wins), in file order."""
    seen: dict[str, Paper] = {}
    for path in map(Path, paths):
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise FeedError(f"{path}: cannot read ({exc.strerror})") from exc
        if data.lstrip()[:1] in (b"[", b"{"):
            papers = papers_from_hf_json(data, source=path.name)
        else:
            papers = papers_from_feed(data, source=path.name)
        for paper in papers:
            seen.setdefault(paper.id, paper)
    return list(seen.values())

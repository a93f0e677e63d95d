"""Papers in the store: upsert with cross-feed merge, and queries for the ranker."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Row, bindparam, func, or_, select, update

from digest.models import REVISIONS, Paper
from digest.store.guard import reading, writing
from digest.store.schema import papers

_CHUNK = 500
# Fields whose change makes a stored paper "updated" (signals like upvotes count too).
_HASHED = ("title", "abstract", "authors", "url", "pdf_url", "code_url", "categories",
           "summary", "upvotes", "comments", "stars", "sources", "published", "updated",
           "version")


@dataclass(frozen=True, slots=True)
class UpsertCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0


def content_hash(paper: Paper) -> str:
    data = {name: getattr(paper, name) for name in _HASHED}
    blob = json.dumps(data, default=str, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()


# What a non-authoritative sighting (HF, a derived feed) may change on a known paper:
# its own signals, never the paper's text (a translated title must not replace arXiv's).
_SIGNALS = frozenset({"summary", "upvotes", "comments", "stars", "code_url"})


def merge_papers(old: Paper, new: Paper, *, authoritative: bool = True) -> Paper:
    """Combine two sightings of one paper; sources and categories accumulate.

    From an authoritative feed (arXiv) newer non-empty fields win; from any other feed
    only the signals do, and the rest just fills gaps. So a paper seen on arXiv and then
    on Hugging Face keeps arXiv's text and PDF and gains HF's upvotes and summary; a
    ``replace`` announcement refreshes text, never the paper's age (``first_seen``) nor how
    it was first announced (``announce_type``: a paper first met as new stays new work);
    ``version`` is the newest seen.
    """
    merged: dict[str, Any] = {}
    for name in Paper.__slots__:
        a, b = getattr(old, name), getattr(new, name)
        prefer_new = authoritative or name in _SIGNALS
        if prefer_new:
            merged[name] = b if b not in (None, "", ()) else a
        else:
            merged[name] = a if a not in (None, "", ()) else b
    merged["sources"] = tuple(dict.fromkeys(old.sources + new.sources))
    merged["categories"] = tuple(dict.fromkeys(old.categories + new.categories))
    merged["first_seen"] = old.first_seen
    merged["announce_type"] = old.announce_type or new.announce_type
    merged["version"] = max((v for v in (old.version, new.version) if v), default=None)
    if old.published and new.published:
        merged["published"] = min(old.published, new.published)
    return Paper(**merged)


def _to_row(paper: Paper, now: datetime) -> dict[str, Any]:
    return {
        "id": paper.id,
        "title": paper.title,
        "abstract": paper.abstract,
        "authors": list(paper.authors),
        "url": paper.url,
        "pdf_url": paper.pdf_url,
        "code_url": paper.code_url,
        "categories": list(paper.categories),
        "published": paper.published,
        "updated": paper.updated,
        "sources": list(paper.sources),
        "summary": paper.summary,
        "upvotes": paper.upvotes,
        "comments": paper.comments,
        "stars": paper.stars,
        "announce_type": paper.announce_type,
        "version": paper.version,
        "content_hash": content_hash(paper),
        "first_seen": paper.first_seen or now,
        "last_seen": now,
    }


def row_to_paper(row: Row[Any] | Any) -> Paper:
    m = row._mapping
    return Paper(
        id=m["id"],
        title=m["title"],
        abstract=m["abstract"] or "",
        authors=tuple(m["authors"] or ()),
        url=m["url"],
        pdf_url=m["pdf_url"],
        code_url=m["code_url"],
        categories=tuple(m["categories"] or ()),
        published=m["published"],
        updated=m["updated"],
        sources=tuple(m["sources"] or ()),
        summary=m["summary"],
        upvotes=m["upvotes"],
        comments=m["comments"],
        stars=m["stars"],
        announce_type=m["announce_type"],
        version=m["version"],
        first_seen=m["first_seen"],
    )


_PAPER_COLUMNS = [c for c in papers.c
                  if c.name not in ("embedding", "embedding_model", "content_hash", "last_seen")]


def upsert_papers(engine: Engine, incoming: Iterable[Paper], *, now: datetime,
                  authoritative: bool = True) -> UpsertCounts:
    """Insert new papers and merge re-sightings; returns how many were new/updated/unchanged.

    Works in chunks: one SELECT per chunk, one multi-row INSERT and one executemany
    UPDATE, so a 10,000-entry feed is a few dozen statements, not tens of thousands.
    """
    batch: dict[str, Paper] = {}
    for paper in incoming:  # the same paper twice in one batch merges too
        batch[paper.id] = (merge_papers(batch[paper.id], paper, authoritative=authoritative)
                           if paper.id in batch else paper)
    new = updated = unchanged = 0
    ids = list(batch)
    update_stmt = update(papers).where(papers.c.id == bindparam("pid"))
    with writing(engine) as conn:
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            existing = {
                row.id: (row_to_paper(row), row.content_hash)
                for row in conn.execute(
                    select(*_PAPER_COLUMNS, papers.c.content_hash).where(papers.c.id.in_(chunk))
                )
            }
            inserts: list[dict[str, Any]] = []
            updates: list[dict[str, Any]] = []
            retext: list[str] = []  # papers whose stored embedding no longer fits their text
            for pid in chunk:
                paper = batch[pid]
                if pid not in existing:
                    inserts.append(_to_row(replace(paper, first_seen=now), now))
                    continue
                old, old_hash = existing[pid]
                merged = merge_papers(old, paper, authoritative=authoritative)
                values = _to_row(merged, now)
                if values["content_hash"] == old_hash:
                    unchanged += 1
                    continue
                del values["id"], values["first_seen"]
                values["pid"] = pid
                updates.append(values)
                if (merged.title, merged.abstract) != (old.title, old.abstract):
                    retext.append(pid)
            if inserts:
                conn.execute(papers.insert(), inserts)
            if updates:
                conn.execute(update_stmt, updates)
            if retext:
                conn.execute(update(papers).where(papers.c.id.in_(retext))
                             .values(embedding=None, embedding_model=None))
            new += len(inserts)
            updated += len(updates)
    return UpsertCounts(new=new, updated=updated, unchanged=unchanged)


def _seen_since(since: datetime, include_revisions: bool) -> list[Any]:
    where = [papers.c.first_seen >= since]
    if not include_revisions:
        where.append(or_(papers.c.announce_type.is_(None),
                         papers.c.announce_type.not_in(sorted(REVISIONS))))
    return where


def papers_seen_since(engine: Engine, since: datetime, *, limit: int = 20000,
                      include_revisions: bool = True) -> list[Paper]:
    """Papers digest first stored at or after ``since``, newest first (first stored, then
    published), at most ``limit``; without ``include_revisions``, none first met as an arXiv
    replacement."""
    query = (
        select(*_PAPER_COLUMNS)
        .where(*_seen_since(since, include_revisions))
        .order_by(papers.c.first_seen.desc(), papers.c.published.desc().nulls_last(), papers.c.id)
        .limit(limit)
    )
    with reading(engine) as conn:
        return [row_to_paper(row) for row in conn.execute(query)]


def count_seen_since(engine: Engine, since: datetime, *, include_revisions: bool = True) -> int:
    """How many papers ``papers_seen_since`` would return without a limit."""
    query = select(func.count()).select_from(papers).where(*_seen_since(since, include_revisions))
    with reading(engine) as conn:
        return int(conn.execute(query).scalar_one())


def known_ids(engine: Engine, ids: Sequence[str]) -> set[str]:
    """Which of ``ids`` the store already holds."""
    found: set[str] = set()
    with reading(engine) as conn:
        for start in range(0, len(ids), _CHUNK):
            query = select(papers.c.id).where(papers.c.id.in_(list(ids[start : start + _CHUNK])))
            found.update(row.id for row in conn.execute(query))
    return found


def get_papers(engine: Engine, ids: Sequence[str]) -> dict[str, Paper]:
    found: dict[str, Paper] = {}
    with reading(engine) as conn:
        for start in range(0, len(ids), _CHUNK):
            query = select(*_PAPER_COLUMNS).where(papers.c.id.in_(ids[start : start + _CHUNK]))
            found.update((row.id, row_to_paper(row)) for row in conn.execute(query))
    return found


def count_papers(engine: Engine) -> int:
    with reading(engine) as conn:
        return int(conn.execute(select(func.count()).select_from(papers)).scalar_one())

"""Use-case helper: the candidate pool an edition is ranked against, rankers over stored
papers reusing stored embeddings (encoding only papers that have none), and ranking one
subscriber against one.

Between the store and the pure ranker. The pool is bounded (``pool_max``, most recently
stored first) and holds only new work unless revisions are included. A paper is encoded
once (when a ranker first needs it) and its vectors (whole text and title) written to
``papers.embedding`` batch by batch as they are computed, so an interrupted run keeps what it
did; papers that subscribers liked, disliked or named as seeds come along as history so
feedback keeps working.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import numpy as np

from digest.app.profile_store import StoredProfiles
from digest.app.vectors import cached_vectors
from digest.editions import FIRST_EDITION_LOOKBACK
from digest.models import REVISIONS, Paper, Ranking, Subscriber
from digest.rank import Embedder, Ranker, build_ranker, embed_papers, from_blob, to_blob
from digest.rank.semantic import ROWS, title_text
from digest.store import Engine
from digest.store.embeddings import load_embeddings, save_embeddings
from digest.store.ledger import sent_paper_ids, sent_paper_ids_many
from digest.store.papers import count_seen_since, get_papers, papers_seen_since

EMBED_BATCH = 256  # papers encoded, then written, at a time
TITLED = "+title"  # a stored blob's tag: the encoder's name, then this when it holds title rows


def stored_model(embedder: Embedder) -> str:
    """The tag of a stored blob of ``embed_papers``' rows (whole text, then title) made by
    ``embedder``; a blob tagged with the bare encoder name holds the whole text's row alone
    (digest before issue 17's title rows)."""
    return f"{embedder.name}{TITLED}"


def cached_embeddings(engine: Engine, papers: Sequence[Paper], embedder: Embedder, *,
                      batch: int = EMBED_BATCH, cache: Path | None = None) -> dict[str, np.ndarray]:
    """Each paper's (ROWS, d) vectors (``rank.embed_papers``): stored ones, plus missing ones
    encoded ``batch`` at a time and stored as each batch is done (an interrupted run loses at
    most one batch of work). A paper stored with its whole-text row alone keeps it: only its
    title is encoded (13 ms, against 170 ms for the abstract). ``cache``: the machine's local
    vector cache (``app.vectors``), read before encoding a missing paper and written after."""
    ids = [p.id for p in papers]
    stored = {pid: from_blob(blob).reshape(ROWS, -1) for pid, blob in
              load_embeddings(engine, ids, model=stored_model(embedder)).items()}
    rest = [pid for pid in ids if pid not in stored]
    whole_only = {pid: from_blob(blob) for pid, blob in
                  load_embeddings(engine, rest, model=embedder.name).items()} if rest else {}
    missing = [p for p in dict((p.id, p) for p in papers).values() if p.id not in stored]
    for start in range(0, len(missing), max(1, batch)):
        chunk = missing[start : start + batch]
        new = [p for p in chunk if p.id not in whole_only]
        fresh = (cached_vectors(new, embedder, cache) if cache is not None and new
                 else embed_papers(new, embedder))
        untitled = [p for p in chunk if p.id in whole_only]
        if untitled:
            titles = embedder.embed([title_text(p) for p in untitled])
            fresh.update({p.id: np.stack([whole_only[p.id], titles[i]]).astype(np.float32)
                          for i, p in enumerate(untitled)})
        save_embeddings(engine, {pid: to_blob(v) for pid, v in fresh.items()},
                        model=stored_model(embedder))
        stored.update(fresh)
    return stored


@dataclass(frozen=True, slots=True)
class Pool:
    """The candidates for editions whose window opened at ``since``: at most the cap, the
    most recently stored first; ``total`` says how many there were before the cap."""

    papers: list[Paper]
    total: int

    @property
    def capped(self) -> bool:
        return self.total > len(self.papers)


def revision_mark(paper: Paper) -> str | None:
    """ "revised, v4" for a paper digest first met as an arXiv replacement, else None."""
    if paper.announce_type not in REVISIONS:
        return None
    return f"revised, v{paper.version}" if paper.version else "revised"


def with_revision_marks(ranking: Ranking) -> Ranking:
    """The ranking with each revision's mark as its first reason (shown in the email and
    frozen in the ledger with the picks)."""
    picks = []
    for pick in ranking.picks:
        mark = revision_mark(pick.paper)
        picks.append(replace(pick, reasons=(mark, *pick.reasons)) if mark else pick)
    return replace(ranking, picks=tuple(picks)) if picks != list(ranking.picks) else ranking


def _history_ids(subscribers: Iterable[Subscriber], pool: set[str]) -> list[str]:
    wanted: dict[str, None] = {}
    for sub in subscribers:
        for pid in (*sub.profile.liked, *sub.profile.disliked, *sub.profile.seed_papers):
            if pid not in pool:
                wanted[pid] = None
    return list(wanted)


def pool_ranker(engine: Engine, pool: Sequence[Paper], *, embedder: Embedder | None,
                subscribers: Iterable[Subscriber] = (), history: Iterable[str] = (),
                cache: Path | None = None) -> Ranker:
    """A ranker over ``pool`` for these subscribers (and the papers ``history`` names), with
    cached embeddings (``cache``: see :func:`cached_embeddings`) and history; profile texts'
    vectors are read from (and new ones kept in) the store."""
    ids = {p.id for p in pool}
    wanted = [*_history_ids(subscribers, ids), *(pid for pid in history if pid not in ids)]
    known = list(get_papers(engine, list(dict.fromkeys(wanted))).values())
    if embedder is None:  # no encoder installed: lexical ranking only
        return build_ranker(pool, semantic=False, history=known)
    vectors = cached_embeddings(engine, [*pool, *known], embedder, cache=cache)
    return build_ranker(pool, embedder=embedder, embeddings=vectors, history=known,
                        profile_store=StoredProfiles(engine))


@dataclass(frozen=True, slots=True)
class Rankers:
    """Builds rankers over stored papers for the plan, preview and rank use cases."""

    engine: Engine
    embedder: Embedder | None  # None: no encoder installed, lexical ranking only
    pool_max: int = 2000  # DIGEST_RANK_POOL_MAX
    include_revisions: bool = False  # DIGEST_INCLUDE_REVISIONS
    # The machine's local vector cache (store.vector_cache.default_path): a fresh database on
    # a machine that met these papers before (the demo, preview, a second instance) reuses
    # their vectors instead of encoding each paper again (about 0.2 s each). None: off.
    vector_cache: Path | None = None

    def pool(self, since: datetime) -> Pool:
        """Papers first stored at or after ``since``: new work only (unless revisions are
        included), the ``pool_max`` most recent."""
        papers = papers_seen_since(self.engine, since, limit=self.pool_max,
                                   include_revisions=self.include_revisions)
        total = len(papers)
        if total >= self.pool_max:
            total = count_seen_since(self.engine, since, include_revisions=self.include_revisions)
        return Pool(papers, total)

    def over(self, pool: Sequence[Paper], subscribers: Iterable[Subscriber] = (), *,
             history: Iterable[str] = ()) -> Ranker:
        """A ranker over ``pool`` that knows these subscribers' liked/disliked/seed papers
        and the papers ``history`` names (ids; unknown ones are left out)."""
        return pool_ranker(self.engine, pool, embedder=self.embedder, subscribers=subscribers,
                           history=history, cache=self.vector_cache)

    def rank(self, ranker: Ranker, subscriber: Subscriber, *, now: datetime,
             exclude: set[str] | None = None) -> Ranking:
        """Rank for one subscriber, leaving out what they were already sent (and ``exclude``:
        papers older than their edition window)."""
        skip = sent_paper_ids(self.engine, subscriber.id) | (exclude or set())
        return with_revision_marks(ranker.rank(subscriber.profile, now=now,
                                               k=subscriber.papers_per_email, exclude=skip))

    def rank_many(self, ranker: Ranker, batch: Sequence[tuple[Subscriber, set[str]]], *,
                  now: datetime) -> list[Ranking]:
        """:meth:`rank` for each (subscriber, exclude) of a batch, in order, with one ledger
        read for what the whole batch was already sent."""
        sent = sent_paper_ids_many(self.engine, [sub.id for sub, _ in batch])
        requests = [(sub.profile, sub.papers_per_email, sent[sub.id] | exclude)
                    for sub, exclude in batch]
        return [with_revision_marks(r) for r in ranker.rank_many(requests, now=now)]


@dataclass(frozen=True, slots=True)
class ThisWeek:
    """``digest.app.reader.Picker`` in this process: the papers of the last
    ``FIRST_EDITION_LOOKBACK`` ranked for ``interests`` with the subscriber's feedback and
    history (what a first edition would hold), ``limit`` picks."""

    rankers: Rankers

    def __call__(self, subscriber: Subscriber, interests: str, *, now: datetime,
                 limit: int) -> Ranking:
        sub = replace(subscriber, papers_per_email=limit,
                      profile=replace(subscriber.profile, interests=interests))
        pool = self.rankers.pool(now - FIRST_EDITION_LOOKBACK).papers
        if not pool or not interests.strip():
            return Ranking()
        return self.rankers.rank(self.rankers.over(pool, [sub]), sub, now=now)

"""The Ranker: fuses semantic, lexical, learned and prior scores and picks a digest's papers.

Encoder-dominant fusion: cosine similarity is the relevance scale, BM25 (normalized per
query) adds at most LEXICAL_WEIGHT; a z-score average gave much of the encoder's gain back.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np

from digest.models import Paper, Pick, Profile, Ranking
from digest.rank.encoder import Embedder
from digest.rank.ensemble import anchor_rows, is_fused, relevance_rows
from digest.rank.learned import learned_scores
from digest.rank.lexical import LexicalIndex, paper_text
from digest.rank.priors import prior_scores
from digest.rank.profile import ParsedProfile, normalize_author, parse_profile
from digest.rank.reasons import reasons_for
from digest.rank.select import pick_top
from digest.rank.semantic import interest_scores, nearest, paper_matrix
from digest.rank.smooth import smooth_rows

# MiniLM cosine between a short profile and an abstract: the corpus median for a profile
# runs 0.05-0.35, judged-relevant papers mostly 0.25-0.6. The floor is on semantic
# relevance alone, so lexical overlap or popularity never make filler clear it. With the
# semantic extra it applies to the paper's own MPNet cosine, before smoothing (a similar
# scale: median pairwise cosine 0.39 vs 0.39 on the seeds, 0.25 vs 0.23 on the listings).
FLOOR = 0.2
LEXICAL_WEIGHT = 0.1
LEXICAL_FLOOR = 0.2  # without embeddings: a fifth of the best BM25 match for this profile
AUTHOR_BONUS = 0.2  # a followed author is a stated interest, strong enough to clear the floor
CATEGORY_BONUS = 0.03


class Ranker:
    """Scores one corpus for many profiles; build once per edition with :func:`build_ranker`."""

    def __init__(
        self,
        papers: Sequence[Paper],
        vectors: np.ndarray | None,
        embedder: Embedder | None,
        *,
        history: Sequence[Paper] = (),
        history_vectors: np.ndarray | None = None,
    ) -> None:
        self.papers = tuple(papers)
        self.vectors = vectors
        self.embedder = embedder if vectors is not None else None
        self._anchor = anchor_rows(self.embedder, vectors)  # diversity + liked-reason space
        # Relevance space. With the extra, MPNet's rows smoothed over their neighbours
        # (smooth.py): measured, that lifts MPNet on every judged set, while on the int8
        # MiniLM, whose neighbour graph is noisier, it lowered the seed set's nDCG (-0.01 @5,
        # -0.02 @10) and the held-out set's (-0.05 @5).
        # Smoothing only reorders: the floor still asks whether the paper itself matches, or
        # in a thin week an unrelated paper would borrow its one neighbour's relevance.
        self._own = relevance_rows(self.embedder, vectors)
        self._scored = smooth_rows(self._own) if is_fused(embedder) and self._own is not None else self._own
        self.lexical = LexicalIndex([paper_text(p) for p in self.papers])
        # Liked, disliked and seed papers are mostly from earlier weeks: they are looked up
        # in the corpus and in ``history`` but are never candidates themselves.
        ids = {p.id for p in self.papers}
        self.history = tuple(p for p in history if p.id not in ids)
        self._refs = self.papers + self.history
        self._ref_index = {p.id: i for i, p in enumerate(self._refs)}
        self._ref_vectors = vectors
        if vectors is not None and self.history:
            extra = history_vectors
            if extra is None or len(extra) != len(self.history):
                extra = np.zeros((len(self.history), vectors.shape[1]), np.float32)
            self._ref_vectors = np.vstack([vectors, extra]).astype(np.float32)

    @property
    def semantic(self) -> bool:
        """True when relevance uses sentence embeddings (else BM25 alone)."""
        return self.vectors is not None and self.embedder is not None

    def _rows(self, papers: Sequence[Paper]) -> np.ndarray:
        idx = [self._ref_index[p.id] for p in papers]
        assert self._ref_vectors is not None
        dim = self._ref_vectors.shape[1]
        return self._ref_vectors[idx] if idx else np.zeros((0, dim), np.float32)

    def relevance(self, parsed: ParsedProfile) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        """(relevance, floor-eligible mask, details for reasons) for every paper."""
        n = len(self.papers)
        bm25 = self.lexical.bm25([parsed.text])[0] if parsed.text else np.zeros(n, np.float32)
        lex = bm25 / bm25.max() if bm25.max() > 0 else bm25
        details: dict[str, Any] = {"bm25": bm25}
        if self.semantic:
            assert self.vectors is not None and self.embedder is not None
            phrases = list(parsed.phrases) if len(parsed.phrases) > 1 else []
            pvecs = self.embedder.embed([parsed.text, *phrases])
            if pvecs.shape[1] != self.vectors.shape[1]:
                raise ValueError(
                    f"paper embeddings have {self.vectors.shape[1]} dimensions but "
                    f"{self.embedder.name} makes {pvecs.shape[1]}: re-embed the papers"
                )
            assert self._scored is not None and self._own is not None
            pvecs = relevance_rows(self.embedder, pvecs)
            positives = self._rows(parsed.seeds + parsed.liked)
            pos = relevance_rows(self.embedder, positives)
            neg = relevance_rows(self.embedder, self._rows(parsed.disliked))

            def score(papers: np.ndarray) -> np.ndarray:
                return learned_scores(interest_scores(pvecs, papers), pos, neg, papers)

            base = score(self._scored)
            own = base if self._scored is self._own else score(self._own)
            extra = LEXICAL_WEIGHT * lex
            if phrases:
                phrase_sims = pvecs[1:] @ self._scored.T
                details["closest"] = [phrases[j] for j in phrase_sims.argmax(axis=0)]
            # Both non-None: anchor_rows passes arrays through (or slices them), and with
            # ``self.vectors`` set the corpus anchor was built from an array too.
            liked_anchor = anchor_rows(self.embedder, positives)
            assert liked_anchor is not None and self._anchor is not None
            liked_sim, liked_idx = nearest(liked_anchor, self._anchor)
            details["liked"] = (liked_sim, liked_idx, parsed.seeds + parsed.liked)
            floor = FLOOR
        else:
            base, extra, floor = lex.astype(np.float32), np.zeros(n, np.float32), LEXICAL_FLOOR
            own = base
        bonus = self._stated_bonus(parsed)
        return base + bonus + extra, own + bonus >= floor, details

    def _stated_bonus(self, parsed: ParsedProfile) -> np.ndarray:
        """Followed authors and categories: interests the reader stated outright."""
        bonus = np.zeros(len(self.papers), dtype=np.float32)
        for i, p in enumerate(self.papers):
            if parsed.authors and any(normalize_author(a) in parsed.authors for a in p.authors):
                bonus[i] += AUTHOR_BONUS
            if parsed.categories.intersection(p.categories):
                bonus[i] += CATEGORY_BONUS
        return bonus

    def rank(
        self,
        profile: Profile,
        *,
        now: datetime,
        k: int = 10,
        exclude: Collection[str] = frozenset(),
    ) -> Ranking:
        """Top-k picks for one subscriber, never one of ``exclude`` (ids already sent)."""
        if not self.papers:
            return Ranking(picks=(), quiet=k > 0, considered=0)
        parsed = parse_profile(profile, self._refs)
        rel, eligible, details = self.relevance(parsed)
        known = set(exclude) | {p.id for p in parsed.seeds + parsed.liked + parsed.disliked}
        eligible &= np.array([p.id not in known for p in self.papers])
        score = rel + prior_scores(self.papers, now, profile.popularity_weight)
        chosen = pick_top(score, eligible, self._anchor if self.semantic else None, k)
        picks = tuple(self._pick(i, float(score[i]), parsed, details) for i in chosen)
        return Ranking(picks=picks, quiet=len(picks) < k, considered=len(self.papers))

    def _pick(self, i: int, score: float, parsed: ParsedProfile, details: dict[str, Any]) -> Pick:
        liked, liked_sim = None, 0.0
        if "liked" in details and details["liked"][2]:
            sims, idx, refs = details["liked"]
            liked, liked_sim = refs[int(idx[i])], float(sims[i])
        terms = self.lexical.shared_terms(parsed.text, i) if details["bm25"][i] > 0 else []
        closest = details.get("closest", [None] * len(self.papers))[i] or (
            parsed.phrases[0] if parsed.phrases else None
        )
        reasons = reasons_for(
            self.papers[i],
            parsed,
            terms=terms,
            closest_interest=closest,
            liked=liked,
            liked_sim=liked_sim,
        )
        return Pick(paper=self.papers[i], score=round(score, 4), reasons=reasons)


def build_ranker(
    papers: Sequence[Paper],
    *,
    embedder: Embedder | None = None,
    embeddings: Mapping[str, np.ndarray] | None = None,
    semantic: bool = True,
    history: Sequence[Paper] = (),
) -> Ranker:
    """Fit the lexical models and gather paper embeddings once for this corpus.

    ``embedder=None`` means the packaged default encoder; ``semantic=False`` ranks by BM25
    alone. ``embeddings`` (paper id -> vector, e.g. from the store) skip re-encoding papers.
    ``history``: earlier papers that profiles may name as liked, disliked or seed papers
    (their vectors also come from ``embeddings`` when present); never picked.
    """
    if semantic and embedder is None:
        from digest.rank.semantic import default_embedder

        embedder = default_embedder()
    if not semantic:
        return Ranker(papers, None, None, history=history)
    vectors = paper_matrix(papers, embedder, embeddings) if papers else None
    current = {p.id for p in papers}
    hist = [p for p in history if p.id not in current]
    hist_vectors = None
    if hist and vectors is not None:
        hist_vectors = paper_matrix(hist, embedder, embeddings)
    return Ranker(papers, vectors, embedder, history=hist, history_vectors=hist_vectors)

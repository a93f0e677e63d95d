"""The Ranker: scores papers against a reader's sub-interests and picks a digest's papers.

Encoder-dominant: cosine similarity is the relevance scale. A profile of one sub-interest scores
exactly as its encoder does; with several, a paper is scored by the whole text and by the
sub-interest it serves best, and the picks are spread across the sub-interests served. Word
evidence (IDF coverage of a sub-interest) adds at most LEXICAL_WEIGHT; feedback moves only the
sub-interest it concerns (learned.py).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import numpy as np
from threadpoolctl import ThreadpoolController

from digest.models import Paper, Pick, Profile, Ranking
from digest.rank.corpus import CorpusIndex, ProfileVectors, VectorStore
from digest.rank.encoder import Embedder
from digest.rank.interests import FILLER
from digest.rank.learned import LR_WEIGHT, logistic, rocchio
from digest.rank.lexical import LexicalIndex, paper_text
from digest.rank.profile import PaperLookup, ParsedProfile, parse_profile
from digest.rank.reasons import reader_words, reasons_for
from digest.rank.select import pick_top
from digest.rank.semantic import nearest, paper_matrix

# The quiet-week floor, on the paper's own MiniLM cosine to what the reader wrote (never
# lexical overlap or popularity). Measured on the tuning profiles of bench/data (issue 17,
# sign-up sentences included): 0.15 keeps every paper graded 3 and 97% of those graded 2,
# where the old 0.2 dropped 10% of the 2s; unrelated papers have a median of 0.18 there,
# so a week with nothing on topic still comes out short.
FLOOR = 0.15
LEXICAL_WEIGHT = 0.1  # at most this much cosine for a paper holding all of a sub-interest's words
LEXICAL_FLOOR = 0.2  # without embeddings: a fifth of the best BM25 match for this profile
AUTHOR_BONUS = 0.2  # a followed author is a stated interest, strong enough to clear the floor
CATEGORY_BONUS = 0.03
WHOLE_SHARE = 0.5
CENTER = False
ELIG_MAX = False  # several sub-interests: the whole text's cosine keeps half the say
# One ranking request of a batch: (profile, papers per email, ids never to pick).
Request = tuple[Profile, int, Collection[str]]


@dataclass(frozen=True, slots=True)
class Relevance:
    """Per paper: the score to rank by, whether it clears the floor, and the evidence behind it."""

    score: np.ndarray  # (papers,) relevance in cosine units, bonuses included
    eligible: np.ndarray  # (papers,) bool: the paper itself clears the floor
    served: np.ndarray | None  # (papers,) index into ParsedProfile.phrases it serves best
    coverage: np.ndarray  # (phrases + examples, papers) IDF coverage of each one
    liked: tuple[np.ndarray, np.ndarray, tuple[Paper, ...]] | None  # nearest liked paper


# Pseudo-relevance feedback (Rocchio over the top PRF_K papers, textbook BETA): the reader's
# words are moved toward the papers they match best, so a sentence in everyday words reaches
# the papers' vocabulary. k = 3 as in dense-retrieval PRF (Li et al. 2021, "Pseudo relevance
# feedback with deep language models and dense retrievers"). Measured on the tuning
# profiles (bench/rank_quality.py): worded-unlike nDCG@5 0.71 -> 0.76 (seeds) and
# 0.71 -> 0.74 (listings); k = 5 drifted (0.74 / 0.72).
PRF_K = 3
PRF_BETA = 0.75


def expand(queries: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Each unit query row moved toward the mean of its PRF_K nearest paper rows, renormalized."""
    k = min(PRF_K, vectors.shape[0])
    if k == 0 or len(queries) == 0:
        return queries
    top = np.argsort(-(queries @ vectors.T), axis=1)[:, :k]
    out = queries + PRF_BETA * vectors[top].mean(axis=1)
    unit: np.ndarray = out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
    return unit.astype(np.float32)


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
        profile_store: VectorStore | None = None,
    ) -> None:
        self.papers = tuple(papers)
        self.vectors = vectors
        self.embedder = embedder if vectors is not None else None
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
        # Built once per corpus, not per reader: reference lookup, who wrote what, priors.
        self._lookup = PaperLookup(self._refs)
        self._index = CorpusIndex(self.papers)
        self._profiles = (ProfileVectors(self.embedder, store=profile_store)
                          if self.embedder is not None else None)

    @property
    def semantic(self) -> bool:
        """True when relevance uses sentence embeddings (else BM25 alone)."""
        return self.vectors is not None and self.embedder is not None

    def _rows(self, papers: Sequence[Paper]) -> np.ndarray:
        idx = [self._ref_index[p.id] for p in papers]
        assert self._ref_vectors is not None
        dim = self._ref_vectors.shape[1]
        return self._ref_vectors[idx] if idx else np.zeros((0, dim), np.float32)

    def relevance(self, parsed: ParsedProfile) -> Relevance:
        """Score every paper for one parsed profile (see the module docstring for the rule)."""
        n = len(self.papers)
        channels = parsed.phrases + parsed.examples
        coverage = self.lexical.coverage(channels, ignore=FILLER) if channels else np.zeros((0, n))
        # Squared: a paper holding half a phrase's IDF mass gets a quarter of the bonus, so a
        # shared everyday word ("generative", "neural networks") moves little. Measured on the
        # tuning profiles: worded-unlike nDCG@5 0.760 -> 0.768 (seeds), 0.744 -> 0.756
        # (listings); sign-up profiles -0.002 / -0.001.
        words = coverage.max(axis=0) ** 2 if len(coverage) else np.zeros(n, np.float32)
        bonus = self._stated_bonus(parsed)
        if not self.semantic:
            bm25 = self.lexical.bm25([parsed.text])[0] if parsed.text else np.zeros(n, np.float32)
            lex = (bm25 / bm25.max() if bm25.max() > 0 else bm25).astype(np.float32)
            return Relevance(lex + bonus, lex + bonus >= LEXICAL_FLOOR, None, coverage, None)
        assert self.vectors is not None and self.embedder is not None
        assert self._profiles is not None
        pvecs = self._profiles.rows(_texts(parsed))
        several = len(pvecs) > 1
        if pvecs.shape[1] != self.vectors.shape[1]:
            raise ValueError(
                f"paper embeddings have {self.vectors.shape[1]} dimensions but "
                f"{self.embedder.name} makes {pvecs.shape[1]}: re-embed the papers"
            )
        positives = self._rows(parsed.seeds + parsed.liked)
        negatives = self._rows(parsed.disliked)
        interests = rocchio(pvecs[1:] if several else pvecs[:1], positives, negatives)
        # Eligibility asks whether the paper itself matches what the reader wrote (and liked);
        # the order comes from the pseudo-relevance-expanded vectors.
        own = self._semantic(pvecs[0], interests, several)[0]
        sem, served = self._semantic(expand(pvecs[:1], self.vectors)[0],
                                     expand(interests, self.vectors), several)
        sem = sem + LR_WEIGHT * logistic(positives, negatives, self.vectors)
        liked = None
        if len(positives):
            sim, idx = nearest(positives, self.vectors)
            liked = (sim, idx, parsed.seeds + parsed.liked)
        score = (sem + LEXICAL_WEIGHT * words + bonus).astype(np.float32)
        return Relevance(score, own + bonus >= FLOOR, served, coverage, liked)

    def _semantic(self, whole: np.ndarray, interests: np.ndarray,
                  several: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """(cosine relevance, sub-interest each paper serves best) for unit query rows."""
        assert self.vectors is not None
        sims = interests @ self.vectors.T  # (sub-interests, papers)
        if not several:
            return sims[0], None
        best: np.ndarray = sims.max(axis=0)
        mixed = WHOLE_SHARE * (whole @ self.vectors.T) + (1 - WHOLE_SHARE) * best
        return mixed, np.argmax(sims, axis=0)

    def _stated_bonus(self, parsed: ParsedProfile) -> np.ndarray:
        """Followed authors and categories: interests the reader stated outright."""
        return self._index.stated_bonus(parsed, AUTHOR_BONUS, CATEGORY_BONUS)

    def rank_many(self, requests: Sequence[Request], *, now: datetime) -> list[Ranking]:
        """:meth:`rank` for each (profile, k, exclude) of a batch, in order: the same picks,
        with the corpus indexed, the priors computed and each distinct profile text read from
        the profile store or encoded once (the batch's missing texts in one encoder call)."""
        with _blas().limit(limits=1, user_api="blas"):
            parsed = [parse_profile(profile, self._refs, self._lookup)
                      for profile, _, _ in requests]
            if self._profiles is not None and self.semantic:
                self._profiles.warm(t for one in parsed for t in _texts(one))
            return [self._rank(profile, now=now, k=k, exclude=exclude, parsed=one)
                    for (profile, k, exclude), one in zip(requests, parsed, strict=True)]

    def rank(
        self,
        profile: Profile,
        *,
        now: datetime,
        k: int = 10,
        exclude: Collection[str] = frozenset(),
    ) -> Ranking:
        """Top-k picks for one subscriber, never one of ``exclude`` (ids already sent)."""
        with _blas().limit(limits=1, user_api="blas"):
            return self._rank(profile, now=now, k=k, exclude=exclude)

    def _rank(self, profile: Profile, *, now: datetime, k: int, exclude: Collection[str],
              parsed: ParsedProfile | None = None) -> Ranking:
        if not self.papers:
            return Ranking(picks=(), quiet=k > 0, considered=0)
        parsed = parsed or parse_profile(profile, self._refs, self._lookup)
        rel = self.relevance(parsed)
        known = set(exclude) | {p.id for p in parsed.seeds + parsed.liked + parsed.disliked}
        eligible = rel.eligible & self._index.fresh(known)
        score = rel.score + self._index.prior(now, profile.popularity_weight)
        chosen = pick_top(score, eligible, self.vectors if self.semantic else None, k,
                          groups=rel.served)
        picks = tuple(self._pick(i, float(score[i]), parsed, rel) for i in chosen)
        return Ranking(picks=picks, quiet=len(picks) < k, considered=len(self.papers))

    def _pick(self, i: int, score: float, parsed: ParsedProfile, rel: Relevance) -> Pick:
        liked, liked_sim = None, 0.0
        if rel.liked is not None and rel.liked[2]:
            sims, idx, refs = rel.liked
            liked, liked_sim = refs[int(idx[i])], float(sims[i])
        served = int(rel.served[i]) if rel.served is not None else 0
        closest = parsed.phrases[served] if parsed.phrases else None
        channels = parsed.phrases + parsed.examples
        words: list[str] = []
        if len(rel.coverage) and rel.coverage[:, i].max() > 0:  # the channel whose words it shares
            words = reader_words(channels[int(np.argmax(rel.coverage[:, i]))], self.lexical, i)
        reasons = reasons_for(
            self.papers[i],
            parsed,
            words=words,
            closest_interest=closest,
            liked=liked,
            liked_sim=liked_sim,
        )
        return Pick(paper=self.papers[i], score=round(score, 4), reasons=reasons)


def _texts(parsed: ParsedProfile) -> tuple[str, ...]:
    """The texts a profile is encoded as: the whole, then each sub-interest when several."""
    return (parsed.text, *(parsed.phrases if len(parsed.phrases) > 1 else ()))


@lru_cache(maxsize=1)
def _blas() -> ThreadpoolController:
    """One BLAS thread while ranking: its products are small (a few rows x the pool), and on
    a busy 2-core host threaded ones spun: 27 ms for a (2 x 384) x (384 x 2,000) product
    against under 1 ms on one thread (measured while ranking 40 profiles, issue 20)."""
    return ThreadpoolController()


def build_ranker(
    papers: Sequence[Paper],
    *,
    embedder: Embedder | None = None,
    embeddings: Mapping[str, np.ndarray] | None = None,
    semantic: bool = True,
    history: Sequence[Paper] = (),
    profile_store: VectorStore | None = None,
) -> Ranker:
    """Fit the lexical models and gather paper embeddings once for this corpus.

    ``embedder=None`` means the packaged default encoder; ``semantic=False`` ranks by BM25
    alone. ``embeddings`` (paper id -> vector, e.g. from the store) skip re-encoding papers.
    ``history``: earlier papers that profiles may name as liked, disliked or seed papers
    (their vectors also come from ``embeddings`` when present); never picked.
    ``profile_store``: where profile texts' vectors are kept between editions.
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
    return Ranker(papers, vectors, embedder, history=hist, history_vectors=hist_vectors,
                  profile_store=profile_store)

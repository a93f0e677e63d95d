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
from digest.rank.cosine import Query, cosines
from digest.rank.encoder import Embedder
from digest.rank.interests import FILLER
from digest.rank.learned import LR_WEIGHT, logistic, rocchio
from digest.rank.lexical import LexicalIndex, paper_text
from digest.rank.profile import PaperLookup, ParsedProfile, parse_profile
from digest.rank.reasons import CITE_SHARE, matched_in_doc, reader_words, reasons_for
from digest.rank.select import pick_top, pick_top_many
from digest.rank.semantic import default_embedder, paper_matrix, row_of

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
# One ranking request of a batch: (profile, papers per email, ids never to pick).
Request = tuple[Profile, int, Collection[str]]


@dataclass(frozen=True, slots=True)
class Relevance:
    """Per paper: the score to rank by, whether it clears the floor, and the evidence behind it."""

    score: np.ndarray  # (papers,) relevance in cosine units, bonuses included
    eligible: np.ndarray  # (papers,) bool: the paper itself clears the floor
    served: np.ndarray | None  # (papers,) index into ParsedProfile.phrases it serves best
    coverage: np.ndarray  # (phrases + examples, papers) IDF coverage of each one
    # (rows (m, d), papers): the liked and seed papers' unit rows, for a pick's nearest one
    liked: tuple[np.ndarray, tuple[Paper, ...]] | None


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
        titles: np.ndarray | None = None,
    ) -> None:
        self.papers = tuple(papers)
        self.vectors = vectors
        self.titles = titles if vectors is not None else None  # (papers, d): title rows
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
        return self.relevance_many([parsed])[0]

    def relevance_many(self, batch: Sequence[ParsedProfile]) -> list[Relevance]:
        """:meth:`relevance` for each parsed profile, the encoder's part as one batch
        (rank.cosine: two matrix products for all of them)."""
        n = len(self.papers)
        words, bonus, coverage = [], [], []
        for parsed in batch:
            channels = parsed.phrases + parsed.examples
            cover = (self.lexical.coverage(channels, ignore=FILLER) if channels
                     else np.zeros((0, n), np.float32))
            # Squared: a paper holding half a phrase's IDF mass gets a quarter of the bonus,
            # so a shared everyday word ("generative", "neural networks") moves little.
            # Measured on the tuning profiles: worded-unlike nDCG@5 0.760 -> 0.768 (seeds),
            # 0.744 -> 0.756 (listings); sign-up profiles -0.002 / -0.001.
            words.append(cover.max(axis=0) ** 2 if len(cover) else np.zeros(n, np.float32))
            bonus.append(self._stated_bonus(parsed))
            coverage.append(cover)
        if not self.semantic:
            out = []
            for parsed, extra, cover in zip(batch, bonus, coverage, strict=True):
                bm25 = (self.lexical.bm25([parsed.text])[0] if parsed.text
                        else np.zeros(n, np.float32))
                lex = (bm25 / bm25.max() if bm25.max() > 0 else bm25).astype(np.float32)
                out.append(Relevance(lex + extra, lex + extra >= LEXICAL_FLOOR, None, cover, None))
            return out
        assert self.vectors is not None and self._profiles is not None
        feedback = [(self._rows(p.seeds + p.liked), self._rows(p.disliked)) for p in batch]
        queries = [self._query(p, pos, neg) for p, (pos, neg) in zip(batch, feedback, strict=True)]
        out = []
        for parsed, (pos, neg), cos, extra, cover, lexical in zip(
                batch, feedback, cosines(queries, self.vectors, self.titles), bonus, coverage, words,
                strict=True):
            sem = cos.score + LR_WEIGHT * logistic(pos, neg, self.vectors)
            # The nearest liked paper: found for the picks only (_pick), 0.5 ms a reader less
            liked = (pos, parsed.seeds + parsed.liked) if len(pos) else None
            score = (sem + LEXICAL_WEIGHT * lexical + extra).astype(np.float32)
            # Eligibility asks whether the paper itself matches what the reader wrote (and
            # liked); the order comes from the pseudo-relevance-expanded rows.
            out.append(Relevance(score, cos.own + extra >= FLOOR, cos.served, cover, liked))
        return out

    def _query(self, parsed: ParsedProfile, positives: np.ndarray,
               negatives: np.ndarray) -> Query:
        """The reader's unit rows, sub-interests moved by their feedback (learned.rocchio)."""
        assert self.vectors is not None and self._profiles is not None
        pvecs = self._profiles.rows(parsed.encoded)
        if pvecs.shape[1] != self.vectors.shape[1]:
            assert self.embedder is not None
            raise ValueError(
                f"paper embeddings have {self.vectors.shape[1]} dimensions but "
                f"{self.embedder.name} makes {pvecs.shape[1]}: re-embed the papers"
            )
        several = len(pvecs) > 1
        interests = rocchio(pvecs[1:] if several else pvecs[:1], positives, negatives)
        return Query(pvecs[0], interests, several)

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
                self._profiles.warm(t for one in parsed for t in one.encoded)
            if not self.papers or not self.semantic:
                found = self.relevance_many(parsed) if self.papers else [None] * len(parsed)
                return [self._rank(profile, now=now, k=k, exclude=exclude, parsed=one, rel=rel)
                        for (profile, k, exclude), one, rel in zip(requests, parsed, found,
                                                                  strict=True)]
            assert self.vectors is not None
            rels = self.relevance_many(parsed)
            scored = [self._scored(profile, exclude, one, rel, now)
                      for (profile, _, exclude), one, rel in zip(requests, parsed, rels,
                                                                strict=True)]
            batch = [(score, eligible, k, rel.served)
                     for (score, eligible), rel, (_, k, _) in zip(scored, rels, requests,
                                                                 strict=True)]
            return [self._ranking(k, one, rel, score, chosen)
                    for (score, _, k, _), one, rel, chosen in zip(
                        batch, parsed, rels, pick_top_many(batch, self.vectors), strict=True)]

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
              parsed: ParsedProfile | None = None, rel: Relevance | None = None) -> Ranking:
        if not self.papers:
            return Ranking(picks=(), quiet=k > 0, considered=0)
        parsed = parsed or parse_profile(profile, self._refs, self._lookup)
        rel = rel or self.relevance(parsed)
        score, eligible = self._scored(profile, exclude, parsed, rel, now)
        chosen = pick_top(score, eligible, self.vectors if self.semantic else None, k,
                          groups=rel.served)
        return self._ranking(k, parsed, rel, score, chosen)

    def _scored(self, profile: Profile, exclude: Collection[str], parsed: ParsedProfile,
                rel: Relevance, now: datetime) -> tuple[np.ndarray, np.ndarray]:
        """(score, eligible) over the papers: relevance plus priors; the floor, minus what
        the reader was sent or named."""
        known = set(exclude) | {p.id for p in parsed.seeds + parsed.liked + parsed.disliked}
        eligible = rel.eligible & self._index.fresh(known)
        return rel.score + self._index.prior(now, profile.popularity_weight), eligible

    def _ranking(self, k: int, parsed: ParsedProfile, rel: Relevance, score: np.ndarray,
                 chosen: list[int]) -> Ranking:
        # The channel whose words each pick shares most (None: too little, CITE_SHARE): 4 us a reader
        shared: list[int | None] = [None] * len(chosen)
        if len(rel.coverage) and chosen:
            cover = rel.coverage[:, chosen]
            shared = [int(c) if top >= CITE_SHARE else None
                      for c, top in zip(cover.argmax(axis=0), cover.max(axis=0), strict=True)]
        picks = tuple(self._pick(i, float(score[i]), parsed, rel, channel)
                      for i, channel in zip(chosen, shared, strict=True))
        return Ranking(picks=picks, quiet=len(picks) < k, considered=len(self.papers))

    def _pick(self, i: int, score: float, parsed: ParsedProfile, rel: Relevance,
              channel: int | None) -> Pick:
        liked, liked_sim = None, 0.0
        if rel.liked is not None and rel.liked[1] and self.vectors is not None:
            rows, refs = rel.liked
            sims = rows @ self.vectors[i]
            best = int(np.argmax(sims))
            liked, liked_sim = refs[best], float(sims[best])
        served = int(rel.served[i]) if rel.served is not None else 0
        closest = parsed.phrases[served] if parsed.phrases else None
        channels = parsed.phrases + parsed.examples
        words: list[str] = []
        if channel is not None:
            words = reader_words(channels[channel], self.lexical, i, text=paper_text(self.papers[i]))
        reasons = reasons_for(
            self.papers[i],
            parsed,
            words=words,
            closest_interest=closest,
            liked=liked,
            liked_sim=liked_sim,
            matched=matched_in_doc(channels, self.papers[i], i, self.lexical),
        )
        return Pick(paper=self.papers[i], score=round(score, 4), reasons=reasons)


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
    alone. ``embeddings`` (paper id -> its (2, d) rows from ``embed_papers``, e.g. from the
    store; a (d,) vector is the whole-text row alone) skip re-encoding papers.
    ``history``: earlier papers that profiles may name as liked, disliked or seed papers
    (their vectors also come from ``embeddings`` when present); never picked.
    ``profile_store``: where profile texts' vectors are kept between editions.
    """
    if semantic and embedder is None:
        embedder = default_embedder()
    if not semantic:
        return Ranker(papers, None, None, history=history)
    rows = paper_matrix(papers, embedder, embeddings) if papers else None
    current = {p.id for p in papers}
    hist = [p for p in history if p.id not in current]
    old = paper_matrix(hist, embedder, embeddings, rows=1) if hist and rows is not None else None
    return Ranker(papers, row_of(rows, 0), embedder, history=hist, history_vectors=row_of(old, 0),
                  profile_store=profile_store, titles=row_of(rows, 1))

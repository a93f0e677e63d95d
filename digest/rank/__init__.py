"""Rank papers for a profile: TF-IDF relevance over title + abstract (first version)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from digest.models import Paper, Pick, Profile, Ranking

FLOOR = 0.02


class Ranker:
    def __init__(self, papers: Sequence[Paper]) -> None:
        self.papers = list(papers)
        self._vec = TfidfVectorizer(stop_words="english", sublinear_tf=True, ngram_range=(1, 2))
        texts = [f"{p.title} {p.abstract}" for p in self.papers] or [""]
        self._matrix = self._vec.fit_transform(texts)

    def rank(self, profile: Profile, *, now: datetime, k: int = 10,
             exclude: Collection[str] = frozenset()) -> Ranking:
        if not self.papers:
            return Ranking(quiet=True)
        query = self._vec.transform([" ".join([profile.interests, *profile.keywords])])
        scores = (self._matrix @ query.T).toarray().ravel()
        order = np.argsort(-scores, kind="stable")
        terms = set(self._vec.build_analyzer()(profile.interests))
        picks = []
        for i in order:
            paper = self.papers[i]
            if paper.id in exclude or scores[i] < FLOOR:
                continue
            matched = [t for t in self._vec.build_analyzer()(paper.title + " " + paper.abstract)
                       if t in terms and " " not in t]
            reasons = (f"matches: {', '.join(dict.fromkeys(matched[:4]))}",) if matched else ()
            picks.append(Pick(paper=paper, score=float(scores[i]), reasons=reasons))
            if len(picks) == k:
                break
        return Ranking(picks=tuple(picks), quiet=len(picks) < k, considered=len(self.papers))


def build_ranker(papers: Sequence[Paper], *, embedder: Any = None,
                 embeddings: Mapping[str, Any] | None = None) -> Ranker:
    return Ranker(papers)


def rank_papers(papers: Sequence[Paper], profile: Profile, *, now: datetime, k: int = 10,
                exclude: Collection[str] = frozenset()) -> Ranking:
    return build_ranker(papers).rank(profile, now=now, k=k, exclude=exclude)


def default_embedder() -> None:
    return None

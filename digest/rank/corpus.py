"""What a ranker computes once per corpus instead of once per reader: rows by paper id,
papers by author and category (the stated-interest bonus), priors per ``now``, and the
encoder's rows per distinct profile text.

Pure data structures over one edition's papers; results equal the per-reader computation
they replace (tests/unit/test_rank_batch.py holds the picks from before they existed).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime

import numpy as np

from digest.models import Paper
from digest.rank.encoder import Embedder
from digest.rank.priors import prior_base, weighted_prior
from digest.rank.profile import ParsedProfile, normalize_author

# Profile vectors kept per ranker, keyed by the texts encoded: readers who wrote the same
# interests are encoded once per edition. 4,096 entries of a few 384-float rows: ~20 MB.
PROFILE_CACHE = 4096


class CorpusIndex:
    """Per-corpus lookups: which rows hold a paper id, who wrote what, which categories."""

    def __init__(self, papers: Sequence[Paper]) -> None:
        self.papers = tuple(papers)
        self.rows_of: dict[str, list[int]] = {}
        self._by_author: dict[str, list[int]] = {}
        self._by_category: dict[str, list[int]] = {}
        for i, p in enumerate(self.papers):
            self.rows_of.setdefault(p.id, []).append(i)
            for name in {normalize_author(a) for a in p.authors}:
                self._by_author.setdefault(name, []).append(i)
            for cat in set(p.categories):
                self._by_category.setdefault(cat, []).append(i)
        self._priors: dict[datetime, np.ndarray] = {}

    def fresh(self, known: set[str]) -> np.ndarray:
        """(papers,) bool: False for the papers whose id is in ``known``."""
        out = np.ones(len(self.papers), dtype=bool)
        for pid in known:
            out[self.rows_of.get(pid, [])] = False
        return out

    def stated_bonus(self, parsed: ParsedProfile, author: float, category: float) -> np.ndarray:
        """(papers,) float32: ``author`` for a paper by a followed author, plus ``category``
        for one in a followed category."""
        bonus = np.zeros(len(self.papers), dtype=np.float32)
        for stated, index, weight in ((parsed.authors, self._by_author, author),
                                      (parsed.categories, self._by_category, category)):
            hits = sorted({i for key in stated for i in index.get(key, ())})
            if hits:
                bonus[hits] += weight
        return bonus

    def prior(self, now: datetime, weight: float) -> np.ndarray:
        """The popularity and recency prior at ``now`` for one reader's weight (priors.py)."""
        base = self._priors.get(now)
        if base is None:
            base = self._priors[now] = prior_base(self.papers, now)
        return weighted_prior(base, weight)


class ProfileVectors:
    """The encoder's rows for a profile's texts, encoded together as one call (as a single
    reader's ranking always did, so rows are bit-identical) and kept, least recently used
    out first, up to ``size`` profiles."""

    def __init__(self, embedder: Embedder, size: int = PROFILE_CACHE) -> None:
        self.embedder = embedder
        self.size = size
        self._rows: OrderedDict[tuple[str, ...], np.ndarray] = OrderedDict()

    def rows(self, texts: tuple[str, ...]) -> np.ndarray:
        """(len(texts), dim) unit rows for these texts."""
        found = self._rows.get(texts)
        if found is not None:
            self._rows.move_to_end(texts)
            return found
        rows = self.embedder.embed(list(texts))
        self._rows[texts] = rows
        if len(self._rows) > self.size:
            self._rows.popitem(last=False)
        return rows

"""What a ranker computes once per corpus instead of once per reader: rows by paper id,
papers by author and category (the stated-interest bonus), priors per ``now``, and the
encoder's rows per distinct profile text.

Pure data structures over one edition's papers; results equal the per-reader computation
they replace (tests/unit/test_rank_batch.py holds the picks from before they existed).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

import numpy as np

from digest.models import Paper
from digest.rank.encoder import Embedder
from digest.rank.priors import prior_base, weighted_prior
from digest.rank.profile import ParsedProfile, normalize_author

# Profile texts' rows kept in memory per ranker: readers who wrote the same interests are
# encoded (or read from the store) once per edition. 8,192 rows of 384 floats: 12 MB.
PROFILE_CACHE = 8192


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


class VectorStore(Protocol):
    """Where profile texts' vectors outlive one edition (the app keeps them in the database)."""

    def read(self, model: str, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored unit rows for these texts (missing texts absent)."""
        ...

    def write(self, model: str, rows: dict[str, np.ndarray]) -> None:
        """Keep these text -> unit row pairs."""
        ...


class ProfileVectors:
    """The encoder's row for each profile text, kept in memory (least recently used out first,
    up to ``size`` texts) and, with a ``store``, between editions.

    Each text is encoded on its own row: a text's vector does not depend on which other texts
    shared its call beyond float noise (~1e-7, from the padding of a batch), and texts missing
    from memory and store are encoded together in one call (:meth:`warm`), a batch per
    planning batch instead of a call per reader.
    """

    def __init__(self, embedder: Embedder, size: int = PROFILE_CACHE,
                 store: VectorStore | None = None) -> None:
        self.embedder = embedder
        self.size = size
        self.store = store
        self._rows: OrderedDict[str, np.ndarray] = OrderedDict()

    def warm(self, texts: Iterable[str]) -> None:
        """Make every one of ``texts`` ready: from memory, else the store, else encoded (all
        missing ones in one encoder call, then written to the store)."""
        wanted = [t for t in dict.fromkeys(texts) if t not in self._rows]
        if not wanted:
            return
        found = self.store.read(self.embedder.name, wanted) if self.store is not None else {}
        missing = [t for t in wanted if t not in found]
        if missing:
            fresh = dict(zip(missing, self.embedder.embed(missing), strict=True))
            if self.store is not None:
                self.store.write(self.embedder.name, fresh)
            found.update(fresh)
        for text in wanted:
            self._keep(text, found[text])

    def _keep(self, text: str, row: np.ndarray) -> None:
        self._rows[text] = row
        self._rows.move_to_end(text)
        if len(self._rows) > self.size:
            self._rows.popitem(last=False)

    def rows(self, texts: tuple[str, ...]) -> np.ndarray:
        """(len(texts), dim) unit rows for these texts."""
        self.warm(texts)
        for text in texts:
            self._rows.move_to_end(text)
        return np.vstack([self._rows[t] for t in texts]).astype(np.float32)

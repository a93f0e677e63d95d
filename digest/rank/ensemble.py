"""Several sentence encoders stored as one vector: the ``semantic`` extra's MiniLM + MPNet.

Each encoder's unit row is scaled by 1/sqrt(n) and the rows concatenated, so a concatenated
row is again unit length and the cosine of two of them is the plain mean of the encoders'
cosines. The store keeps one vector per paper; the ranker reads the part it needs:
MPNet's columns for relevance and feedback (:func:`relevance_rows`), MiniLM's for
diversity and the "because you liked" cut-off (:func:`anchor_rows`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import overload

import numpy as np

from digest.rank.encoder import Embedder


class ConcatEmbedder:
    """Mean-of-cosines fusion of ``parts``, in order (the first one's columns come first)."""

    def __init__(self, parts: Sequence[Embedder]) -> None:
        if not parts:
            raise ValueError("ConcatEmbedder needs at least one encoder")
        self.parts = tuple(parts)
        self.name = "+".join(p.name for p in self.parts)
        self._sizes: list[int] | None = None

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One unit float32 row per text: the parts' rows side by side, each / sqrt(n)."""
        rows = [np.asarray(p.embed(texts), dtype=np.float32) for p in self.parts]
        return (np.hstack(rows) / np.float32(np.sqrt(len(rows)))).astype(np.float32)

    def sizes(self) -> list[int]:
        """Each part's dimension (``dim`` when the encoder says, else one probe text)."""
        if self._sizes is None:
            self._sizes = [int(getattr(p, "dim", 0)) or p.embed([""]).shape[1] for p in self.parts]
        return self._sizes

    def split(self, vectors: np.ndarray) -> list[np.ndarray]:
        """Undo :meth:`embed`'s layout: each part's unit rows from concatenated (stored) rows."""
        sizes = self.sizes()
        if sum(sizes) != vectors.shape[-1]:
            raise ValueError(f"{self.name} rows have {sum(sizes)} columns, got {vectors.shape[-1]}")
        cuts = np.cumsum(sizes)[:-1]
        return [part * np.float32(np.sqrt(len(sizes))) for part in np.split(vectors, cuts, axis=-1)]


def is_fused(embedder: Embedder | None) -> bool:
    """True for the semantic extra's several-encoder embedder."""
    return isinstance(embedder, ConcatEmbedder) and len(embedder.parts) > 1


@overload
def relevance_rows(embedder: Embedder | None, vectors: np.ndarray) -> np.ndarray: ...
@overload
def relevance_rows(embedder: Embedder | None, vectors: None) -> None: ...
def relevance_rows(embedder: Embedder | None, vectors: np.ndarray | None) -> np.ndarray | None:
    """The columns relevance is scored on: the last (strongest) encoder's, MPNet's.

    Measured on the judged sets (bench/rank_quality.py), MPNet alone ranks as well as or
    better than the mean of both encoders' cosines, so with the extra MiniLM only calibrates
    thresholds (:func:`anchor_rows`). Plain embedders pass through.
    """
    if vectors is None or not isinstance(embedder, ConcatEmbedder):
        return vectors
    if sum(embedder.sizes()) != vectors.shape[-1]:
        return vectors  # stale vectors from another model: ranking refuses them, naming why
    return np.ascontiguousarray(embedder.split(vectors)[-1])


def anchor_rows(embedder: Embedder | None, vectors: np.ndarray | None) -> np.ndarray | None:
    """The first encoder's rows (MiniLM's), where similarity thresholds were calibrated.

    Diversity (near-duplicate cosines) and the "because you liked" cut-off compare papers
    with fixed cosine thresholds measured on MiniLM; in a fused space they would mean
    something else, so they keep reading MiniLM's columns. Plain embedders pass through.
    """
    if vectors is None or not isinstance(embedder, ConcatEmbedder):
        return vectors
    if sum(embedder.sizes()) != vectors.shape[-1]:
        return vectors  # stale vectors from another model: ranking refuses them, naming why
    return np.ascontiguousarray(embedder.split(vectors)[0])

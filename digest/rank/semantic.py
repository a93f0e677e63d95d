"""Semantic relevance: cosine similarity between profile and paper embeddings.

Paper embeddings are computed once per paper (or handed in from the store); profile vectors
are a few short texts per subscriber.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import cast

import numpy as np

from digest.models import Paper
from digest.rank.encoder import Embedder, load_encoder
from digest.rank.lexical import paper_text

_LOAD_ERRORS = (ImportError, OSError, ValueError, KeyError, zipfile.BadZipFile)


@lru_cache(maxsize=1)
def default_embedder() -> Embedder | None:
    """The packaged int8 MiniLM (loaded once per process).

    None when no model loads: ranking then degrades to lexical relevance, never a crash.
    """
    try:
        return load_encoder()
    except _LOAD_ERRORS:
        return None


def embed_papers(
    papers: Sequence[Paper], embedder: Embedder | None = None
) -> dict[str, np.ndarray]:
    """Embeddings to store with each paper (once per paper): id -> float32 unit vector.

    Empty when no encoder is installed; ranking then falls back to lexical relevance.
    """
    embedder = embedder or default_embedder()
    if embedder is None or not papers:
        return {}
    vectors = embedder.embed([paper_text(p) for p in papers])
    return {p.id: v for p, v in zip(papers, vectors, strict=True)}


def to_blob(vector: np.ndarray) -> bytes:
    """A stored embedding: little-endian float32 bytes (1,536 bytes for MiniLM)."""
    return np.asarray(vector, dtype="<f4").reshape(-1).tobytes()


def from_blob(blob: bytes) -> np.ndarray:
    """Inverse of :func:`to_blob`."""
    return np.frombuffer(blob, dtype="<f4").astype(np.float32)


def paper_matrix(
    papers: Sequence[Paper],
    embedder: Embedder | None,
    embeddings: Mapping[str, np.ndarray] | None,
) -> np.ndarray | None:
    """One unit row per paper: stored embeddings where given, the embedder for the rest.

    Returns None when some paper has no embedding and there is no embedder to make one.
    """
    given = embeddings or {}
    missing = [i for i, p in enumerate(papers) if p.id not in given]
    if missing and embedder is None:
        return None
    fresh = None
    if missing and embedder is not None:
        fresh = embedder.embed([paper_text(papers[i]) for i in missing])
    if fresh is not None:
        dim = int(fresh.shape[1])
    elif given:
        dim = int(np.asarray(next(iter(given.values()))).shape[-1])
    else:
        dim = 384
    mat = np.zeros((len(papers), dim), dtype=np.float32)
    for i, p in enumerate(papers):
        if p.id in given:
            mat[i] = np.asarray(given[p.id], dtype=np.float32).reshape(-1)
    if fresh is not None:
        mat[missing] = fresh
    norms = np.linalg.norm(mat, axis=1, keepdims=True)
    return cast(np.ndarray, mat / np.maximum(norms, 1e-12))  # Any in numpy's stubs

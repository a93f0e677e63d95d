"""Semantic relevance: cosine similarity between profile and paper embeddings.

Paper embeddings are computed once per paper (or handed in from the store), two rows each:
the title with the abstract, and the title alone; profile vectors are a few short texts per
subscriber.
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

ROWS = 2  # a paper's vectors: its title and abstract together, and its title alone
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


def title_text(paper: Paper) -> str:
    """What a paper's title row encodes: its title (the whole text when it has none)."""
    return paper.title.strip() or paper_text(paper)


def embed_papers(
    papers: Sequence[Paper], embedder: Embedder | None = None
) -> dict[str, np.ndarray]:
    """Vectors to store with each paper (once per paper): id -> (ROWS, d) float32 unit rows,
    [title + abstract, title alone], all from one encoder call (a title costs about 13 ms
    against 170 ms for a whole abstract on this project's host: issue 17).

    Empty when no encoder is installed; ranking then falls back to lexical relevance.
    """
    embedder = embedder or default_embedder()
    if embedder is None or not papers:
        return {}
    n = len(papers)
    rows = embedder.embed([paper_text(p) for p in papers] + [title_text(p) for p in papers])
    return {p.id: np.stack([rows[i], rows[n + i]]).astype(np.float32)
            for i, p in enumerate(papers)}


def to_blob(vector: np.ndarray) -> bytes:
    """A stored embedding: little-endian float32 bytes, row after row (3,072 bytes for a
    paper's two MiniLM rows)."""
    return np.asarray(vector, dtype="<f4").reshape(-1).tobytes()


def from_blob(blob: bytes) -> np.ndarray:
    """Inverse of :func:`to_blob`."""
    return np.frombuffer(blob, dtype="<f4").astype(np.float32)


def paper_matrix(
    papers: Sequence[Paper],
    embedder: Embedder | None,
    embeddings: Mapping[str, np.ndarray] | None,
    *,
    rows: int = ROWS,
) -> np.ndarray | None:
    """(papers, rows, d) unit rows in :func:`embed_papers`' order: stored vectors where given,
    the embedder for the rest. A given (d,) vector is the whole text's row alone; its title
    row is then encoded (or, with no embedder, repeats the whole row). ``rows=1``: whole rows
    only (history papers, never scored by their titles).

    Returns None when some paper has no vector at all and there is no embedder to make one.
    Raises ValueError ("re-embed the papers") when the given vectors' dimension is not the
    embedder's (vectors from another model).
    """
    given = {pid: np.atleast_2d(np.asarray(v, dtype=np.float32)) for pid, v in
             (embeddings or {}).items()}
    missing = [i for i, p in enumerate(papers) if p.id not in given]
    untitled = [i for i, p in enumerate(papers)
                if rows > 1 and p.id in given and len(given[p.id]) < rows]
    if missing and embedder is None:
        return None
    texts = [paper_text(papers[i]) for i in missing]
    if rows > 1:
        texts += [title_text(papers[i]) for i in missing + untitled]
    fresh = embedder.embed(texts) if texts and embedder is not None else None
    if given:
        dim = int(next(iter(given.values())).shape[-1])
    else:
        dim = int(fresh.shape[1]) if fresh is not None else 384
    if fresh is not None and fresh.shape[1] != dim:
        assert embedder is not None
        raise ValueError(f"paper embeddings have {dim} dimensions but {embedder.name} makes "
                         f"{fresh.shape[1]}: re-embed the papers")
    mat = np.zeros((len(papers), rows, dim), dtype=np.float32)
    for i, p in enumerate(papers):
        if p.id in given:
            have = given[p.id][:rows]
            mat[i, : len(have)] = have
            mat[i, len(have):] = have[0]  # no title row and nothing to make one: the whole row
    if fresh is not None:
        mat[missing, 0] = fresh[: len(missing)]
        if rows > 1:
            mat[missing + untitled, 1] = fresh[len(missing):]
    norms = np.linalg.norm(mat, axis=2, keepdims=True)
    return cast(np.ndarray, mat / np.maximum(norms, 1e-12))  # Any in numpy's stubs


def row_of(rows: np.ndarray | None, j: int) -> np.ndarray | None:
    """Row ``j`` of each paper's (papers, rows, d) vectors as a contiguous (papers, d) matrix
    (the ranker's matrix products read it many times)."""
    return None if rows is None else np.ascontiguousarray(rows[:, j])

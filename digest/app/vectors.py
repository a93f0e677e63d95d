"""Use-case helper: paper vectors through the machine's local vector cache
(``store.vector_cache``), keyed by each exact encoder text, so a paper met before on this
machine (by ``digest rank --feed``, another database, or a database made afresh) is not
encoded again; a miss is encoded and cached."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from digest.models import Paper
from digest.rank import Embedder
from digest.rank.encoder import MiniLMEncoder
from digest.rank.lexical import paper_text
from digest.rank.semantic import title_text
from digest.store.vector_cache import default_path, read_vectors, text_key, write_vectors

Progress = Callable[[int, int], None]  # (texts encoded, texts to encode)


def _embed(embedder: Embedder, texts: list[str], on_progress: Progress | None) -> np.ndarray:
    if on_progress is not None and isinstance(embedder, MiniLMEncoder):
        return embedder.embed(texts, on_progress=on_progress)
    return embedder.embed(texts)


def cached_vectors(papers: Sequence[Paper], embedder: Embedder,
                   path: Path | None = None,
                   on_progress: Progress | None = None) -> dict[str, np.ndarray]:
    """Paper id -> its (2, d) unit rows (``rank.embed_papers``: title + abstract, then the
    title alone), each text's vector from the local cache where the same text met the same
    model before (``store.vector_cache``); the rest are encoded and cached, ``on_progress(done,
    total)`` hearing after each batch of papers' texts encoded (not called when all were
    cached; titles, a tenth of the time, are encoded first and not counted)."""
    if path is None:
        try:
            path = default_path()
        except RuntimeError:  # no home directory (a container's arbitrary user): no cache
            path = None
    pairs = [(paper_text(p), title_text(p)) for p in papers]
    keys = {text: text_key(text) for pair in pairs for text in pair}
    stored = read_vectors(path, embedder.name, sorted(set(keys.values()))) if path else {}
    titles = list(dict.fromkeys(t for _, t in pairs if keys[t] not in stored))
    pending = set(titles)
    wholes = list(dict.fromkeys(w for w, _ in pairs if keys[w] not in stored and w not in pending))
    for texts, progress in ((titles, None), (wholes, on_progress)):
        if texts:
            fresh = _embed(embedder, texts, progress)
            new = {keys[t]: np.asarray(fresh[j], dtype=np.float32) for j, t in enumerate(texts)}
            if path is not None:
                write_vectors(path, embedder.name, new)
            stored.update(new)
    return {p.id: np.stack([stored[keys[whole]], stored[keys[title]]])
            for p, (whole, title) in zip(papers, pairs, strict=True)}

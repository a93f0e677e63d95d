"""Use-case helper: the ranker's profile-vector store over the database (store.profile_vectors),
so a reader's interests are encoded when they are new or changed, not every edition."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from digest.rank import from_blob, to_blob
from digest.store import Engine
from digest.store.profile_vectors import read_profile_vectors, save_profile_vectors
from digest.store.vector_cache import text_key


@dataclass(frozen=True, slots=True)
class StoredProfiles:
    """``rank.corpus.VectorStore`` kept in the ``profile_vectors`` table, keyed by the
    SHA-256 of each text. Raises StoreError when the store fails."""

    engine: Engine

    def read(self, model: str, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored unit rows of ``model`` for these texts (missing texts absent)."""
        keys = {text_key(t): t for t in texts}
        blobs = read_profile_vectors(self.engine, model, list(keys), now=datetime.now(UTC))
        return {keys[k]: from_blob(b) for k, b in blobs.items()}

    def write(self, model: str, rows: dict[str, np.ndarray]) -> None:
        """Keep these text -> unit row pairs for ``model``."""
        save_profile_vectors(self.engine, model, {text_key(t): to_blob(v) for t, v in rows.items()},
                             now=datetime.now(UTC))

"""The local vector cache behind `digest rank --feed`: encode each text once per model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from digest.models import Paper
from digest.rank.vector_cache import cached_vectors, default_path


class Counting:
    """A real encoder (hash-seeded rows) that counts the texts it was asked to encode."""

    def __init__(self, name: str = "counting") -> None:
        self.name, self.texts = name, 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.texts += len(texts)
        rows = [np.random.default_rng(sum(t.encode())).normal(size=8) for t in texts]
        m = np.array(rows, dtype=np.float32)
        return m / np.linalg.norm(m, axis=1, keepdims=True)


PAPERS = [
    Paper(id=f"2601.0000{i}", title=f"Paper {i}", abstract=f"Abstract number {i}.")
    for i in range(5)
]


def test_second_call_encodes_nothing_and_returns_the_same_vectors(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    enc = Counting()
    first = cached_vectors(PAPERS, enc, path)
    assert enc.texts == 5
    again = cached_vectors(PAPERS, enc, path)
    assert enc.texts == 5
    for p in PAPERS:
        assert np.array_equal(first[p.id], again[p.id])
        assert np.array_equal(first[p.id], enc.embed([f"{p.title}. {p.abstract}"])[0])


def test_an_edited_abstract_or_another_model_is_a_miss(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    enc = Counting()
    cached_vectors(PAPERS, enc, path)
    edited = [replace(PAPERS[0], abstract="A revised abstract."), *PAPERS[1:]]
    cached_vectors(edited, enc, path)
    assert enc.texts == 6  # only the edited paper
    other = Counting(name="another-model")
    cached_vectors(PAPERS, other, path)
    assert other.texts == 5


def test_a_damaged_or_unwritable_cache_only_costs_time(tmp_path: Path) -> None:
    broken = tmp_path / "cache.sqlite"
    broken.write_bytes(b"this is not a database")
    enc = Counting()
    got = cached_vectors(PAPERS, enc, broken)
    assert set(got) == {p.id for p in PAPERS} and enc.texts == 5
    blocked = tmp_path / "file" / "cache.sqlite"
    (tmp_path / "file").write_text("a file where a folder should be")
    got = cached_vectors(PAPERS, enc, blocked)
    assert set(got) == {p.id for p in PAPERS} and enc.texts == 10


def test_default_path_follows_xdg_cache_home(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_path() == tmp_path / "digest" / "embeddings.sqlite"

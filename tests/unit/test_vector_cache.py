"""The local vector cache behind `digest rank --feed`: encode each text once per model.

A paper is two encoder texts (``rank.embed_papers``): its title with its abstract, and its
title alone."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from digest.app.vectors import cached_vectors
from digest.models import Paper
from digest.store.vector_cache import default_path
from tests.unit.rank_fixtures import CountingEmbedder

PAPERS = [
    Paper(id=f"2601.0000{i}", title=f"Paper {i}", abstract=f"Abstract number {i}.")
    for i in range(5)
]


def test_second_call_encodes_nothing_and_returns_the_same_vectors(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    enc = CountingEmbedder()
    first = cached_vectors(PAPERS, enc, path)
    assert len(enc.encoded) == 10
    again = cached_vectors(PAPERS, enc, path)
    assert len(enc.encoded) == 10
    for p in PAPERS:
        assert np.array_equal(first[p.id], again[p.id])
        assert np.array_equal(first[p.id], enc.embed([f"{p.title}. {p.abstract}", p.title]))


def test_an_edited_abstract_or_another_model_is_a_miss(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    enc = CountingEmbedder()
    cached_vectors(PAPERS, enc, path)
    edited = [replace(PAPERS[0], abstract="A revised abstract."), *PAPERS[1:]]
    cached_vectors(edited, enc, path)
    assert enc.encoded[10:] == ["Paper 0. A revised abstract."]  # its title is cached
    other = CountingEmbedder(name="another-model")
    cached_vectors(PAPERS, other, path)
    assert len(other.encoded) == 10


def test_a_damaged_or_unwritable_cache_only_costs_time(tmp_path: Path) -> None:
    broken = tmp_path / "cache.sqlite"
    broken.write_bytes(b"this is not a database")
    enc = CountingEmbedder()
    got = cached_vectors(PAPERS, enc, broken)
    assert set(got) == {p.id for p in PAPERS} and len(enc.encoded) == 10
    blocked = tmp_path / "file" / "cache.sqlite"
    (tmp_path / "file").write_text("a file where a folder should be")
    got = cached_vectors(PAPERS, enc, blocked)
    assert set(got) == {p.id for p in PAPERS} and len(enc.encoded) == 20


def test_default_path_follows_xdg_cache_home(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_path() == tmp_path / "digest" / "embeddings.sqlite"


def test_progress_counts_papers_not_texts(tmp_path: Path) -> None:
    # `digest rank --feed` shows "encoding papers n/N": N is the papers to encode, though each
    # is two encoder texts (titles go first, uncounted: a tenth of the time).
    from digest.rank import default_embedder

    encoder = default_embedder()
    assert encoder is not None
    heard: list[tuple[int, int]] = []
    got = cached_vectors(PAPERS, encoder, tmp_path / "cache.sqlite",
                         on_progress=lambda done, total: heard.append((done, total)))
    assert heard and heard[-1] == (5, 5) and {t for _, t in heard} == {5}
    assert all(got[p.id].shape == (2, 384) for p in PAPERS)
    heard.clear()
    cached_vectors(PAPERS, encoder, tmp_path / "cache.sqlite", on_progress=lambda d, t: heard.append((d, t)))
    assert heard == []


def test_no_home_directory_only_costs_time(monkeypatch) -> None:
    # No $HOME, no passwd entry (a container's arbitrary user), no XDG_CACHE_HOME:
    # Path.home() raises RuntimeError (CPython's pathlib); `digest rank --feed` still ranks.
    def no_home() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setattr(Path, "home", staticmethod(no_home))
    enc = CountingEmbedder()
    got = cached_vectors(PAPERS, enc)
    assert set(got) == {p.id for p in PAPERS} and len(enc.encoded) == 10

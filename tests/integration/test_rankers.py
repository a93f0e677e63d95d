"""Rankers over stored papers: each paper is encoded once and its vector kept in the store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import Engine

from digest.app.rankers import cached_embeddings, pool_ranker, stored_model
from digest.models import Paper, Profile, Subscriber
from digest.rank import to_blob
from digest.store.embeddings import load_embeddings, save_embeddings
from digest.store.papers import get_papers, upsert_papers
from tests.unit.rank_fixtures import CountingEmbedder

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def _papers() -> list[Paper]:
    return [
        Paper(id="p1", title="Speculative decoding with draft models", abstract="faster inference"),
        Paper(id="p2", title="Protein inverse folding", abstract="design sequences for structures"),
        Paper(id="p3", title="KV cache compression", abstract="long context inference memory"),
    ]


def test_each_paper_is_encoded_once_and_reused(engine: Engine) -> None:
    upsert_papers(engine, _papers(), now=NOW)
    stored = list(get_papers(engine, ["p1", "p2", "p3"]).values())
    embedder = CountingEmbedder()
    first = cached_embeddings(engine, stored, embedder)
    assert len(embedder.encoded) == 6 and set(first) == {"p1", "p2", "p3"}  # text and title each
    assert first["p2"].shape == (2, 64)
    model = stored_model(embedder)
    assert set(load_embeddings(engine, ["p1", "p2", "p3"], model=model)) == {"p1", "p2", "p3"}
    again = cached_embeddings(engine, stored, embedder)
    assert len(embedder.encoded) == 6  # nothing re-encoded
    assert np.allclose(again["p2"], first["p2"])
    # Another encoder never reads vectors from a different vector space.
    assert load_embeddings(engine, ["p1"], model="another-model") == {}


def test_changed_text_drops_the_stale_vector(engine: Engine) -> None:
    upsert_papers(engine, _papers(), now=NOW)
    embedder = CountingEmbedder()
    cached_embeddings(engine, list(get_papers(engine, ["p1", "p2", "p3"]).values()), embedder)
    revised = Paper(id="p2", title="Protein inverse folding, revised", abstract="new abstract")
    upsert_papers(engine, [revised], now=NOW + timedelta(days=1))
    assert set(load_embeddings(engine, ["p1", "p2", "p3"], model=stored_model(embedder))) == {"p1", "p3"}
    cached_embeddings(engine, list(get_papers(engine, ["p1", "p2", "p3"]).values()), embedder)
    assert embedder.encoded[-1].startswith("Protein inverse folding, revised")


def test_a_vector_stored_before_title_rows_is_kept_and_only_its_title_encoded(
        engine: Engine) -> None:
    upsert_papers(engine, _papers(), now=NOW)
    stored = list(get_papers(engine, ["p1", "p2", "p3"]).values())
    embedder = CountingEmbedder()
    # What digest stored before issue 17: the title + abstract row alone, tagged with the
    # encoder's bare name.
    whole = embedder.embed([f"{p.title}. {p.abstract}" for p in stored])
    save_embeddings(engine, {p.id: to_blob(whole[i]) for i, p in enumerate(stored[:2])},
                    model=embedder.name)
    embedder.encoded.clear()
    got = cached_embeddings(engine, stored, embedder)
    titles = [p.title for p in stored[:2]]
    assert sorted(embedder.encoded) == sorted([*titles, stored[2].title,
                                               f"{stored[2].title}. {stored[2].abstract}"])
    assert np.allclose(got["p1"][0], whole[0]) and np.allclose(got["p2"][0], whole[1])
    assert np.allclose(got["p1"][1], embedder.embed([stored[0].title])[0])
    embedder.encoded.clear()
    cached_embeddings(engine, stored, embedder)
    assert embedder.encoded == []  # all three now stored with their title rows


def test_pool_ranker_brings_liked_papers_from_earlier_weeks(engine: Engine) -> None:
    upsert_papers(engine, _papers(), now=NOW)
    old = Paper(id="old", title="Draft model speculative sampling", abstract="faster decoding")
    upsert_papers(engine, [old], now=NOW - timedelta(days=30))
    sub = Subscriber(id=1, email="a@example.org",
                     profile=Profile(interests="efficient inference", liked=("old",)))
    pool = list(get_papers(engine, ["p1", "p2", "p3"]).values())
    ranker = pool_ranker(engine, pool, embedder=CountingEmbedder(), subscribers=[sub])
    ranking = ranker.rank(sub.profile, now=NOW, k=3)
    assert "old" not in {p.paper.id for p in ranking.picks}  # history is never picked
    reasons = [r for p in ranking.picks for r in p.reasons]
    assert any("Draft model speculative sampling" in r for r in reasons), reasons


def test_a_fresh_database_on_the_same_machine_reuses_the_local_vector_cache(
        tmp_path, engine: Engine) -> None:
    from digest.app.rankers import Rankers
    from digest.store.db import open_store

    upsert_papers(engine, _papers(), now=NOW)
    cache = tmp_path / "xdg" / "digest" / "embeddings.sqlite"
    embedder = CountingEmbedder()
    first = Rankers(engine, embedder, vector_cache=cache).over(
        list(get_papers(engine, ["p1", "p2", "p3"]).values()))
    assert len(embedder.encoded) == 6  # each paper's text and title
    again = open_store(f"sqlite:///{tmp_path / 'second.db'}")  # a database made afresh
    upsert_papers(again, _papers(), now=NOW)
    second = Rankers(again, embedder, vector_cache=cache).over(
        list(get_papers(again, ["p1", "p2", "p3"]).values()))
    assert len(embedder.encoded) == 6  # nothing encoded again
    assert first.vectors is not None and second.vectors is not None
    assert np.allclose(first.vectors, second.vectors)
    assert set(load_embeddings(again, ["p1", "p2", "p3"], model=stored_model(embedder))) == {
        "p1", "p2", "p3"}  # and the new database keeps them


def test_no_home_directory_means_no_local_cache_not_a_crash(
        tmp_path, monkeypatch) -> None:
    # A container's arbitrary user may have neither $HOME nor a passwd entry: Path.home()
    # raises RuntimeError there (CPython's pathlib), and the main job must still run.
    from pathlib import Path

    from digest.config import Settings
    from digest.runtime import Runtime

    def no_home() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setattr(Path, "home", staticmethod(no_home))
    rt = Runtime(Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}"))
    assert rt.rankers.vector_cache is None

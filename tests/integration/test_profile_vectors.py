"""Profile vectors outlive an edition: next week's planning reads each reader's interests'
vectors from the store instead of encoding every reader again (issue 20), and the picks are
the ones a ranker encoding afresh would make."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select

from digest.app.plan import Planner, frozen_picks
from digest.app.rank import read_feed_files
from digest.app.rankers import Rankers
from digest.models import Paper, SubscriberInput
from digest.rank import build_ranker, embed_papers
from digest.store.db import open_store
from digest.store.papers import upsert_papers
from digest.store.profile_vectors import (
    prune_profile_vectors,
    read_profile_vectors,
    save_profile_vectors,
)
from digest.store.schema import deliveries, editions, profile_vectors
from digest.store.subscribers import list_subscribers, upsert_subscriber
from tests.unit.rank_fixtures import CountingEmbedder

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
FEED = Path(__file__).resolve().parents[2] / "bench" / "data" / "arxiv_api_testing_100.xml"
READERS = [
    SubscriberInput(email="a@example.org", interests="mutation testing and fuzzing"),
    SubscriberInput(email="b@example.org", interests="test generation; flaky tests",
                    keywords=("unit tests",)),
    SubscriberInput(email="c@example.org", interests="software testing", categories=("cs.SE",)),
    SubscriberInput(email="d@example.org", interests="software testing"),  # same text as c
]
PROFILE_TEXTS = {"mutation testing and fuzzing", "test generation; flaky tests unit tests",
                 "test generation", "flaky tests", "unit tests", "software testing"}


def two_weeks() -> tuple[list[Paper], list[Paper]]:
    papers = [p for p in read_feed_files([FEED]).papers if p.announce_type == "new"]
    return papers[:32], papers[32:]


def setup(engine: Engine) -> list[Paper]:
    first, second = two_weeks()
    upsert_papers(engine, first, now=NOW - timedelta(days=1))
    for data in READERS:
        upsert_subscriber(engine, data, now=NOW - timedelta(days=9), status="active", origin="cli")
    return second


def week_picks(engine: Engine, week: int) -> dict[str, list[dict[str, object]]]:
    query = (select(deliveries.c.subscriber_id, deliveries.c.picks)
             .join(editions, editions.c.id == deliveries.c.edition_id)
             .order_by(editions.c.id))
    by_id = {s.id: s.email for s in list_subscribers(engine, status="active")}
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    weeks: dict[int, dict[str, list[dict[str, object]]]] = {}
    for sub_id, picks in rows:
        n = sum(by_id[sub_id] in w for w in weeks.values())
        weeks.setdefault(n, {})[by_id[sub_id]] = picks
    return weeks[week]


def test_next_weeks_plan_encodes_no_profile_again(engine: Engine, db_url: str) -> None:
    second = setup(engine)
    first_embedder = CountingEmbedder()
    Planner(engine, Rankers(engine, first_embedder)).plan(now=NOW)
    assert set(first_embedder.encoded) >= PROFILE_TEXTS
    assert first_embedder.encoded.count("software testing") == 1  # two readers, one encoding

    # Next week, in a new process: a new engine and a new encoder object.
    later = NOW + timedelta(days=7)
    upsert_papers(engine, second, now=later - timedelta(days=1))
    other = open_store(db_url)
    embedder = CountingEmbedder()
    report = Planner(other, Rankers(other, embedder)).plan(now=later)
    other.dispose()
    assert report.planned == 4
    assert not PROFILE_TEXTS & set(embedder.encoded)  # only the new papers were encoded

    # The stored vectors rank exactly as vectors encoded afresh would.
    fresh = CountingEmbedder()
    ranker = build_ranker(second, embedder=fresh, embeddings=embed_papers(second, fresh))
    for sub in list_subscribers(engine, status="active"):
        expected = frozen_picks(ranker.rank(sub.profile, now=later, k=sub.papers_per_email))
        assert week_picks(engine, 1)[sub.email] == expected


def test_a_changed_interest_is_the_only_text_encoded(engine: Engine) -> None:
    second = setup(engine)
    Planner(engine, Rankers(engine, CountingEmbedder())).plan(now=NOW)
    later = NOW + timedelta(days=7)
    upsert_papers(engine, second, now=later - timedelta(days=1))
    upsert_subscriber(engine, SubscriberInput(email="a@example.org",
                                              interests="fuzzing of compilers"),
                      now=later - timedelta(days=1), status="active", origin="cli")
    embedder = CountingEmbedder()
    Planner(engine, Rankers(engine, embedder)).plan(now=later)
    assert [t for t in embedder.encoded if t in PROFILE_TEXTS | {"fuzzing of compilers"}] == [
        "fuzzing of compilers"]


def test_store_keeps_the_first_vector_and_forgets_unused_ones(engine: Engine) -> None:
    save_profile_vectors(engine, "m", {"k1": b"one", "k2": b"two"}, now=NOW - timedelta(days=200))
    save_profile_vectors(engine, "m", {"k1": b"again", "k3": b"three"}, now=NOW)  # k1 raced
    save_profile_vectors(engine, "other-model", {"k2": b"x"}, now=NOW)
    assert read_profile_vectors(engine, "m", ["k1", "k3", "k9"], now=NOW) == {
        "k1": b"one", "k3": b"three"}
    # k1 was read now (its mark refreshed); k2, unread since 200 days ago, goes.
    assert prune_profile_vectors(engine, unused_since=NOW - timedelta(days=90)) == 1
    with engine.connect() as conn:
        left = conn.execute(select(profile_vectors.c.model, profile_vectors.c.text_key)
                            .order_by(profile_vectors.c.model, profile_vectors.c.text_key)).all()
        assert [tuple(r) for r in left] == [("m", "k1"), ("m", "k3"), ("other-model", "k2")]
        assert conn.execute(select(func.count()).select_from(profile_vectors)).scalar() == 3

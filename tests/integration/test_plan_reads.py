"""What a planning pass reads: everyone's schedule up front, each batch's profiles when it is
ranked (as they are then), and the papers readers' feedback and seeds name. The expected
values come from the store's full subscriber read (``list_subscribers``, ``get_subscriber``)
and from ranking a reader alone (``Rankers.rank``), not from the reads under test."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

import digest.app.plan as plan_module
from digest.app.plan import Planner, frozen_picks
from digest.app.rank import read_feed_files
from digest.app.rankers import Rankers
from digest.models import SubscriberInput
from digest.store.papers import upsert_papers
from digest.store.schedules import history_paper_ids, list_schedules
from digest.store.schema import deliveries
from digest.store.subscribers import (
    delete_subscriber,
    get_subscriber,
    list_subscribers,
    record_feedback,
    subscribers_by_id,
    unsubscribe,
    update_subscriber,
    upsert_subscriber,
)
from tests.unit.rank_fixtures import CountingEmbedder

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
FEED = Path(__file__).resolve().parents[2] / "bench" / "data" / "arxiv_api_testing_100.xml"

READERS = [
    SubscriberInput(email="a@example.org", interests="mutation testing and fuzzing"),
    SubscriberInput(email="b@example.org", interests="software testing"),
    SubscriberInput(email="c@example.org", interests="test generation; flaky tests",
                    seed_papers=("2501.00001",), frequency="daily"),
    SubscriberInput(email="d@example.org", interests="formal verification of programs",
                    keywords=("model checking",), categories=("cs.LO",), authors=("Ada L.",),
                    timezone="Asia/Kolkata", hour=6, weekday=3),
    SubscriberInput(email="e@example.org", interests="machine learning models"),
]


def _world(engine: Engine) -> list[str]:
    papers = read_feed_files([FEED]).papers
    upsert_papers(engine, papers, now=NOW - timedelta(days=1))
    for data in READERS:
        upsert_subscriber(engine, data, now=NOW - timedelta(days=9), status="active",
                          origin="cli")
    return [p.id for p in papers]


def test_schedules_and_batch_reads_match_the_full_subscriber_read(engine: Engine) -> None:
    ids = _world(engine)
    upsert_subscriber(engine, SubscriberInput(email="p@example.org", interests="x",
                                              seed_papers=("2501.99999",)),
                      now=NOW, status="pending", origin="web")
    a = get_subscriber(engine, email="a@example.org")
    d = get_subscriber(engine, email="d@example.org")
    assert a is not None and d is not None
    record_feedback(engine, a.id, ids[0], 1, now=NOW - timedelta(hours=3))
    record_feedback(engine, a.id, ids[1], -1, now=NOW - timedelta(hours=2))
    record_feedback(engine, a.id, ids[0], -1, now=NOW - timedelta(hours=1))  # changed mind
    record_feedback(engine, d.id, ids[2], 1, now=NOW)
    full = list_subscribers(engine, status="active")

    schedules = list_schedules(engine, status="active")
    assert [(s.id, s.email, s.status, s.frequency, s.weekday, s.hour, s.timezone)
            for s in schedules] == [(s.id, s.email, s.status, s.frequency, s.weekday, s.hour,
                                     s.timezone) for s in full]
    assert subscribers_by_id(engine, [*(s.id for s in reversed(full)), 10_000],
                             feedback=True) == {
        s.id: s for s in full}
    assert subscribers_by_id(engine, [], feedback=True) == {}
    a_now = next(s for s in full if s.email == "a@example.org")
    assert (a_now.profile.liked, a_now.profile.disliked) == ((), (ids[1], ids[0]))
    # The pending reader's seed is not an active reader's history.
    assert history_paper_ids(engine) == sorted({ids[0], ids[1], ids[2], "2501.00001"})


def test_a_pass_ranks_each_reader_as_they_are_when_their_batch_comes(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    _world(engine)
    rankers = Rankers(engine, CountingEmbedder())
    subs = {s.email: s for s in list_subscribers(engine, status="active")}
    new_e = replace(subs["e@example.org"], profile=subs["a@example.org"].profile)
    pool = rankers.pool(NOW - timedelta(days=30)).papers
    expected = frozen_picks(rankers.rank(rankers.over(pool, [new_e]), new_e, now=NOW))
    monkeypatch.setattr(plan_module, "PLAN_BATCH", 2)

    def meanwhile(done: int, total: int) -> None:
        if done == 0:  # the pass has read who is due; no batch is ranked yet
            unsubscribe(engine, subs["c@example.org"].id, now=NOW)
            update_subscriber(engine, subs["d@example.org"].id, {"frequency": "off"})
            update_subscriber(engine, subs["e@example.org"].id,
                              {"interests": "mutation testing and fuzzing"})

    report = Planner(engine, rankers).plan(now=NOW, on_progress=meanwhile)

    assert (report.planned, report.left) == (3, 2)
    assert report.per_subscriber["c@example.org"] == "no longer subscribed"
    assert report.per_subscriber["d@example.org"] == "no longer subscribed"
    with engine.connect() as conn:
        rows = dict(conn.execute(select(deliveries.c.subscriber_id, deliveries.c.picks)).all())
    by_id = {s.id: email for email, s in subs.items()}
    assert sorted(by_id[i] for i in rows) == ["a@example.org", "b@example.org", "e@example.org"]
    # e is ranked by the interests they hold now: the same picks as a, who wrote the same.
    assert rows[subs["e@example.org"].id] == expected
    assert [p["id"] for p in expected] == [p["id"] for p in rows[subs["a@example.org"].id]]


def test_a_big_pass_keeps_a_bounded_report(engine: Engine,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    _world(engine)
    monkeypatch.setattr(plan_module, "PER_SUBSCRIBER_KEPT", 2)
    monkeypatch.setattr(plan_module, "PLAN_BATCH", 2)
    report = Planner(engine, Rankers(engine, CountingEmbedder())).plan(now=NOW)
    assert report.planned == len(READERS)
    assert list(report.per_subscriber) == ["a@example.org", "b@example.org"]
    assert report.unlisted
    small = Planner(engine, Rankers(engine, CountingEmbedder())).plan(
        now=NOW, only="e@example.org")
    assert (small.per_subscriber, small.unlisted) == ({"e@example.org": "already planned"},
                                                      False)


def test_a_reader_erased_during_a_pass_gets_no_row(engine: Engine,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    _world(engine)
    subs = {s.email: s for s in list_subscribers(engine, status="active")}
    monkeypatch.setattr(plan_module, "PLAN_BATCH", 2)

    def meanwhile(done: int, total: int) -> None:
        if done == 0:
            delete_subscriber(engine, subs["b@example.org"].id, now=NOW)

    report = Planner(engine, Rankers(engine, CountingEmbedder())).plan(now=NOW,
                                                                        on_progress=meanwhile)
    assert (report.planned, report.left) == (len(READERS) - 1, 1)
    with engine.connect() as conn:
        ids = set(conn.execute(select(deliveries.c.subscriber_id)).scalars())
    assert subs["b@example.org"].id not in ids and len(ids) == len(READERS) - 1

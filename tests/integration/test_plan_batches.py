"""Planning in batches: each ledger row holds exactly what ranking that subscriber alone
(``Rankers.rank``: the product ranker, their sent papers left out) picks, with one ledger read
and one insert per batch, and progress reported batch by batch."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

import digest.app.plan as plan_module
from digest.app.plan import Planner, frozen_picks
from digest.app.rank import read_feed_files
from digest.app.rankers import Rankers
from digest.editions import edition_for
from digest.models import SubscriberInput
from digest.store import ledger
from digest.store.db import open_store
from digest.store.papers import upsert_papers
from digest.store.schema import deliveries
from digest.store.subscribers import list_subscribers, upsert_subscriber
from tests.conftest import _reset_pg
from tests.unit.rank_fixtures import CountingEmbedder

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
FEED = Path(__file__).resolve().parents[2] / "bench" / "data" / "arxiv_api_testing_100.xml"

READERS = [
    SubscriberInput(email="a@example.org", interests="mutation testing and fuzzing"),
    SubscriberInput(email="b@example.org", interests="test generation; flaky tests",
                    keywords=("unit tests",), papers_per_email=5),
    SubscriberInput(email="c@example.org", interests="software testing", categories=("cs.SE",)),
    SubscriberInput(email="d@example.org", interests="machine learning models",
                    popularity_weight=0.0),
    SubscriberInput(email="e@example.org", interests="quantum chemistry of ice",
                    papers_per_email=150, quiet_week="skip"),  # a quiet week, skipped
    SubscriberInput(email="f@example.org", interests="software testing"),  # sent before
    SubscriberInput(email="g@example.org", interests="formal verification of programs"),
]


def test_batches_write_what_each_reader_alone_gets(engine: Engine,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    upsert_papers(engine, read_feed_files([FEED]).papers, now=NOW - timedelta(days=1))
    for data in READERS:
        upsert_subscriber(engine, data, now=NOW - timedelta(days=9), status="active",
                          origin="cli")
    subs = {s.email: s for s in list_subscribers(engine, status="active")}
    rankers = Rankers(engine, CountingEmbedder())
    pool = rankers.pool(NOW - timedelta(days=30)).papers
    assert len(pool) == 64  # the listing's new work (the rest are revisions)
    # f was sent the two papers a reader of "software testing" gets first, last week.
    ranker = rankers.over(pool, subs.values())
    before = rankers.rank(ranker, subs["f@example.org"], now=NOW).picks[:2]
    last_week = ledger.ensure_edition(engine, edition_for(subs["f@example.org"],
                                                          NOW - timedelta(days=7)), now=NOW)
    ledger.add_delivery(engine, edition_id=last_week, subscriber_id=subs["f@example.org"].id,
                        picks=[{"id": p.paper.id} for p in before], quiet=False,
                        now=NOW - timedelta(days=3), state="sent")
    expected = {email: frozen_picks(rankers.rank(ranker, sub, now=NOW))
                for email, sub in subs.items()}
    assert not {p.paper.id for p in before} & {p["id"] for p in expected["f@example.org"]}

    monkeypatch.setattr(plan_module, "PLAN_BATCH", 3)
    progress: list[tuple[int, int]] = []
    report = Planner(engine, rankers).plan(now=NOW, on_progress=lambda d, t: progress.append((d, t)))

    assert progress == [(0, 7), (3, 7), (6, 7), (7, 7)]
    assert (report.planned, report.skipped_quiet, report.already) == (6, 1, 0)
    with engine.connect() as conn:
        rows = conn.execute(select(deliveries.c.subscriber_id, deliveries.c.picks,
                                   deliveries.c.state)
                            .where(deliveries.c.edition_id != last_week)).all()
    by_id = {s.id: email for email, s in subs.items()}
    got = {by_id[r.subscriber_id]: r.picks for r in rows}
    assert got == expected
    assert {by_id[r.subscriber_id] for r in rows if r.state == "skipped"} == {"e@example.org"}
    # A second pass (another worker, a rerun) finds every row there and adds none.
    again = Planner(engine, rankers).plan(now=NOW + timedelta(minutes=5))
    assert (again.planned, again.already) == (0, 7)


class Recording:
    """Rankers that note whom they ranked; ``gate``: hold the first batch until it is set,
    ``signal``: set after each batch."""

    def __init__(self, inner: Rankers, gate: threading.Event | None = None,
                 signal: threading.Event | None = None, entered: threading.Event | None = None):
        self.inner, self.gate, self.signal, self.entered = inner, gate, signal, entered
        self.ranked: list[str] = []

    def pool(self, since: datetime) -> Any:
        return self.inner.pool(since)

    def over(self, pool: Any, subscribers: Any = (), **history: Any) -> Any:
        return self.inner.over(pool, subscribers, **history)

    def rank_many(self, ranker: Any, batch: Any, *, now: datetime) -> Any:
        if self.entered is not None and not self.entered.is_set():
            self.entered.set()
            assert self.gate is not None and self.gate.wait(60), "the other worker never ranked"
        self.ranked.extend(sub.email for sub, _ in batch)
        out = self.inner.rank_many(ranker, batch, now=now)
        if self.signal is not None:
            self.signal.set()
        return out


@pytest.mark.postgres
def test_two_workers_split_planning_on_postgresql(pg_database: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    _reset_pg(pg_database)
    engines = [open_store(pg_database), open_store(pg_database)]
    try:
        upsert_papers(engines[0], read_feed_files([FEED]).papers, now=NOW - timedelta(days=1))
        for data in READERS:
            upsert_subscriber(engines[0], data, now=NOW - timedelta(days=9), status="active",
                              origin="cli")
        monkeypatch.setattr(plan_module, "PLAN_BATCH", 3)
        entered, ranked_by_b = threading.Event(), threading.Event()
        a = Recording(Rankers(engines[0], CountingEmbedder()), gate=ranked_by_b, entered=entered)
        b = Recording(Rankers(engines[1], CountingEmbedder()), signal=ranked_by_b)
        reports: dict[str, Any] = {}

        def work(name: str, engine: Engine, rankers: Recording) -> None:
            reports[name] = Planner(engine, rankers).plan(now=NOW)  # type: ignore[arg-type]

        first = threading.Thread(target=work, args=("a", engines[0], a))
        first.start()
        assert entered.wait(60)  # a holds the first batch, stopped inside its ranking
        second = threading.Thread(target=work, args=("b", engines[1], b))
        second.start()
        first.join(120)
        second.join(120)
        assert a.ranked and b.ranked and not set(a.ranked) & set(b.ranked)
        assert sorted(a.ranked + b.ranked) == sorted(r.email for r in READERS)
        assert reports["a"].planned + reports["b"].planned == 6  # and e's quiet week skipped
        assert reports["b"].elsewhere >= 3
        with engines[0].connect() as conn:
            assert len(conn.execute(select(deliveries.c.id)).all()) == 7
    finally:
        for engine in engines:
            engine.dispose()


def test_a_pass_keeps_its_objects_from_the_collector_and_gives_them_back(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    # During the batches what was alive is frozen out of the cyclic collector's passes; once
    # the pass ends, done or failed, nothing stays frozen (a service plans week after week).
    import gc

    upsert_papers(engine, read_feed_files([FEED]).papers, now=NOW - timedelta(days=1))
    for data in READERS:
        upsert_subscriber(engine, data, now=NOW - timedelta(days=9), status="active",
                          origin="cli")
    monkeypatch.setattr(plan_module, "PLAN_BATCH", 3)
    frozen: list[int] = []
    Planner(engine, Rankers(engine, CountingEmbedder())).plan(
        now=NOW, on_progress=lambda d, t: frozen.append(gc.get_freeze_count()))
    assert frozen[-1] > 0 and gc.get_freeze_count() == 0

    def fail(done: int, total: int) -> None:
        if done:
            raise RuntimeError("stopped")

    with pytest.raises(RuntimeError):
        Planner(engine, Rankers(engine, CountingEmbedder())).plan(
            now=NOW + timedelta(days=7), on_progress=fail)
    assert gc.get_freeze_count() == 0


@pytest.mark.postgres
def test_a_big_pass_on_a_fresh_ledger_gives_postgresql_its_statistics(
        pg_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # A new ledger has no planner statistics, and this machine's server runs without
    # autovacuum (elsewhere it first looks after a minute): PostgreSQL then guesses that a
    # batch's 200 subscriber ids match every row, and each batch's two ledger reads scanned
    # the whole table: 26 ms each at 100,000 rows, 28 s of the server's 39 s in a pass
    # (bench/edition.py's world, statement log). The pass must leave statistics that know
    # the rows it wrote, as PostgreSQL's manual asks after a bulk load (ANALYZE).
    from sqlalchemy import insert, text

    from digest.store.schema import subscribers

    _reset_pg(pg_database)
    engine = open_store(pg_database)
    try:
        upsert_papers(engine, read_feed_files([FEED]).papers, now=NOW - timedelta(days=1))
        themes = ["mutation testing", "fuzzing compilers", "flaky tests", "program repair"]
        rows = [{"email": f"r{i}@example.org", "name": "", "interests": themes[i % 4],
                 "keywords": [], "categories": [], "authors": [], "seed_papers": [],
                 "popularity_weight": 1.0, "status": "active", "frequency": "weekly",
                 "weekday": 0, "hour": 8, "timezone": "UTC", "papers_per_email": 5,
                 "quiet_week": "send", "origin": "import", "created_at": NOW - timedelta(days=9),
                 "confirmed_at": NOW - timedelta(days=9), "hard_bounces": 0}
                for i in range(2400)]
        with engine.begin() as conn:
            conn.execute(insert(subscribers), rows)
        monkeypatch.setattr(plan_module, "PLAN_BATCH", 200)
        report = Planner(engine, Rankers(engine, CountingEmbedder())).plan(now=NOW)
        assert report.planned == 2400
        with engine.connect() as conn:
            known = conn.execute(text(
                "SELECT reltuples FROM pg_class WHERE oid = to_regclass('deliveries')")).scalar()
        assert known is not None and known >= 1200  # at least half the rows it holds
    finally:
        engine.dispose()

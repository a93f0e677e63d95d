"""Planning one edition in several processes on one machine (DIGEST_PLAN_PROCESSES): the
batches are split by locks every process can see (on SQLite a byte-range lock beside the
database file), the picks are the ones a single process makes, and batches a helper held
without planning them are planned by the process that started it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

import digest.app.plan as plan_module
from digest.app.rank import read_feed_files
from digest.config import load_settings
from digest.models import SubscriberInput
from digest.runtime import Runtime
from digest.store.db import open_store
from digest.store.papers import upsert_papers
from digest.store.plan_locks import batch_lock
from digest.store.schema import deliveries, subscribers
from digest.store.subscribers import upsert_subscriber

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
FEED = Path(__file__).resolve().parents[2] / "bench" / "data" / "arxiv_api_testing_100.xml"
INTERESTS = ["mutation testing", "fuzzing of compilers", "flaky tests; test generation",
             "formal verification of programs", "large language models for code",
             "software testing", "program repair", "static analysis of bugs"]

HOLD = """
import sys
from digest.store.db import open_store
from digest.store.plan_locks import batch_lock
with batch_lock(open_store(sys.argv[1]), sys.argv[2]) as got:
    print("held" if got else "busy", flush=True)
    sys.stdin.readline()
"""


def world(url: str, readers: int) -> None:
    engine = open_store(url)
    upsert_papers(engine, read_feed_files([FEED]).papers, now=NOW - timedelta(days=1))
    for i in range(readers):
        upsert_subscriber(engine, SubscriberInput(
            email=f"r{i}@example.org", interests=INTERESTS[i % len(INTERESTS)],
            papers_per_email=5 + i % 3), now=NOW - timedelta(days=9), status="active",
            origin="cli")
    engine.dispose()


def picks_by_email(url: str) -> dict[str, Any]:
    engine = open_store(url)
    with engine.connect() as conn:
        rows = conn.execute(select(subscribers.c.email, deliveries.c.picks).join(
            deliveries, deliveries.c.subscriber_id == subscribers.c.id)).all()
    engine.dispose()
    emails = [r.email for r in rows]
    assert len(emails) == len(set(emails))  # one row per reader, never two
    return {r.email: r.picks for r in rows}


def runtime(url: str, processes: int, tmp_path: Path) -> Runtime:
    return Runtime(load_settings(database_url=url, secret_key="k" * 32, plan_processes=processes,
                                 from_address="digest@example.org",
                                 outbox_dir=tmp_path / "outbox"))


def test_a_batch_locked_by_another_process_is_skipped_until_it_lets_go(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'digest.db'}"
    engine = open_store(url)
    other = subprocess.Popen([sys.executable, "-c", HOLD, url, "7:1:200"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout is not None and other.stdin is not None
        assert other.stdout.readline().strip() == "held"
        with batch_lock(engine, "7:1:200") as mine:
            assert not mine
        with batch_lock(engine, "7:201:400") as mine:  # another batch is free
            assert mine
        other.stdin.write("\n")
        other.stdin.flush()
        assert other.wait(30) == 0
    finally:
        other.kill()
    with batch_lock(engine, "7:1:200") as mine:
        assert mine
    engine.dispose()


def test_two_processes_plan_what_one_plans(tmp_path: Path) -> None:
    one, two = f"sqlite:///{tmp_path / 'one.db'}", f"sqlite:///{tmp_path / 'two.db'}"
    for url in (one, two):
        world(url, 600)
    alone = runtime(one, 1, tmp_path)
    report_alone = alone.planner.plan(now=NOW)
    alone.close()
    together = runtime(two, 2, tmp_path)
    report = together.planner.plan(now=NOW)
    together.close()
    assert report_alone.planned == 600 and report_alone.elsewhere == 0
    assert report.planned + report.elsewhere == 600
    assert picks_by_email(two) == picks_by_email(one)


class HeldThenDropped:
    """A helper that holds the second batch and ends without planning it (as one that
    crashed would): the lock says "busy" on the first look, free on the second."""

    def __init__(self) -> None:
        self.looks: dict[int, int] = {}

    def __call__(self, args: Any, due: int) -> HeldThenDropped:
        return self

    def join(self) -> None:
        return None

    def stop(self) -> None:
        return None


def test_batches_a_failed_helper_held_are_planned_after_it_ends(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'digest.db'}"
    world(url, 450)  # three batches of 200, 200 and 50
    seen: list[str] = []
    real = plan_module.batch_lock

    @contextmanager
    def flaky(engine: Engine, name: str) -> Iterator[bool]:
        seen.append(name)
        if seen.count(name) == 1 and len(set(seen)) == 2:  # the second batch, first look
            yield False
            return
        with real(engine, name) as got:
            yield got

    monkeypatch.setattr(plan_module, "batch_lock", flaky)
    rt = runtime(url, 1, tmp_path)
    planner = plan_module.Planner(rt.engine, rt.rankers, helpers=HeldThenDropped())
    report = planner.plan(now=NOW)
    rt.close()
    assert len(set(seen)) == 3 and len(seen) == 4  # the second batch was looked at twice
    assert (report.planned, report.elsewhere) == (450, 0)
    assert len(picks_by_email(url)) == 450


class PlannedBatchTwo(HeldThenDropped):
    """A helper that held the second batch and planned it (rows for readers 201-400) before
    it ended, as a helper that did its share does."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url

    def join(self) -> None:
        from digest.store.ledger import NewDelivery, add_deliveries

        engine = open_store(self.url)
        with engine.connect() as conn:
            edition = conn.execute(select(deliveries.c.edition_id)).scalars().first()
            ids = conn.execute(select(subscribers.c.id).order_by(subscribers.c.id)).scalars().all()
        assert edition is not None
        add_deliveries(engine, [NewDelivery(edition, sid, [{"id": "x", "score": 1.0, "reasons": []}],
                                            False) for sid in ids[200:400]], now=NOW)
        engine.dispose()


def test_batches_a_helper_planned_are_not_looked_at_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A second look per held batch (a lock and a ledger query each) cost 8.5 s of a 61 s
    # pass at 100,000 readers (bench/edition.py, PostgreSQL): the ledger is read once
    # instead, and only a batch someone in it still lacks a row for is looked at again.
    url = f"sqlite:///{tmp_path / 'digest.db'}"
    world(url, 450)
    seen: list[str] = []
    real = plan_module.batch_lock

    @contextmanager
    def held_by_helper(engine: Engine, name: str) -> Iterator[bool]:
        seen.append(name)
        if len(set(seen)) == 2 and seen.count(name) == 1:  # the helper has the second batch
            yield False
            return
        with real(engine, name) as got:
            yield got

    monkeypatch.setattr(plan_module, "batch_lock", held_by_helper)
    rt = runtime(url, 1, tmp_path)
    report = plan_module.Planner(rt.engine, rt.rankers, helpers=PlannedBatchTwo(url)).plan(
        now=NOW)
    rt.close()
    assert len(seen) == 3  # each batch looked at once
    assert (report.planned, report.elsewhere) == (250, 200)
    assert len(picks_by_email(url)) == 450

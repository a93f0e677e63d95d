"""``digest send`` and ``digest run --once`` deliver while they plan: the first planned
batch's messages reach the SMTP server before the next batch is ranked, and everyone gets
exactly one message. In process (CliRunner) so planning's batch size can be made small."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

import digest.app.plan as plan_module
from digest.app.rank import read_feed_files
from digest.cli import app
from digest.models import SubscriberInput
from digest.store.db import open_store
from digest.store.ledger import counts_by_state
from digest.store.papers import upsert_papers
from digest.store.subscribers import upsert_subscriber
from tests.send_world import smtp_env
from tests.smtp_sink import SmtpSink

FEED = Path(__file__).resolve().parents[2] / "bench" / "data" / "arxiv_api_testing_100.xml"
TOPICS = ["mutation testing", "test generation", "flaky tests", "fuzzing", "software testing"]


@pytest.fixture
def world(db_url: str, tmp_path: Path, smtp_sink: SmtpSink,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Five subscribers due their first edition, papers stored, planning in batches of 2;
    the second batch waits (up to 30 s, a hang guard) for the first message to arrive and
    records how many had arrived: the list it yields."""
    now = datetime.now(UTC)
    engine = open_store(db_url)
    upsert_papers(engine, read_feed_files([FEED]).papers, now=now - timedelta(hours=2))
    for i, topic in enumerate(TOPICS):
        upsert_subscriber(engine, SubscriberInput(email=f"r{i}@example.org", interests=topic),
                          now=now - timedelta(days=9), status="active", origin="cli")
    engine.dispose()
    for key, value in smtp_env(db_url, smtp_sink.port, tmp_path).items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(plan_module, "PLAN_BATCH", 2)
    seen: list[int] = []
    real_lock = plan_module.batch_lock
    batches = [0]

    @contextlib.contextmanager
    def watched(engine_: object, name: str) -> Iterator[bool]:
        batches[0] += 1
        if batches[0] == 2:
            deadline = time.monotonic() + 30
            while not smtp_sink.handler.received and time.monotonic() < deadline:
                time.sleep(0.05)
            seen.append(len(smtp_sink.handler.received))
        with real_lock(engine_, name) as mine:  # type: ignore[arg-type]
            yield mine

    monkeypatch.setattr(plan_module, "batch_lock", watched)
    yield seen


def _check_everyone_once(db_url: str, smtp_sink: SmtpSink) -> None:
    assert smtp_sink.handler.counts() == {f"r{i}@example.org": 1 for i in range(5)}
    engine = open_store(db_url)
    try:
        assert counts_by_state(engine) == {"sent": 5}
    finally:
        engine.dispose()


def test_send_delivers_the_first_batch_while_planning_goes_on(
        world: list[int], db_url: str, smtp_sink: SmtpSink) -> None:
    result = CliRunner().invoke(app, ["send"])
    assert result.exit_code == 0, result.output
    assert world and world[0] >= 1
    _check_everyone_once(db_url, smtp_sink)


def test_run_once_delivers_the_first_batch_while_planning_goes_on(
        world: list[int], db_url: str, smtp_sink: SmtpSink,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIGEST_FEEDS", "")  # no feeds: the stored papers are the pool
    result = CliRunner().invoke(app, ["run", "--once"])
    assert result.exit_code == 0, result.output
    assert world and world[0] >= 1
    _check_everyone_once(db_url, smtp_sink)

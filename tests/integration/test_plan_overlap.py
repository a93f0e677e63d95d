"""Planning and delivery overlap: messages of the first planned batch reach the SMTP server
while later batches are still being ranked, and everyone gets exactly one message."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import digest.app.plan as plan_module
from digest.app.overlap import plan_and_deliver
from digest.app.plan import Planner
from digest.app.rank import read_feed_files
from digest.app.rankers import Rankers
from digest.models import SubscriberInput
from digest.store.ledger import counts_by_state
from digest.store.papers import upsert_papers
from digest.store.subscribers import upsert_subscriber
from tests.send_world import runtime
from tests.smtp_sink import SmtpSink
from tests.unit.rank_fixtures import CountingEmbedder

FEED = Path(__file__).resolve().parents[2] / "bench" / "data" / "arxiv_api_testing_100.xml"
TOPICS = ["mutation testing", "test generation", "flaky tests", "fuzzing", "software testing"]


def test_first_batch_is_sent_while_the_rest_is_planned(
        db_url: str, tmp_path: Path, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch) -> None:
    now = datetime.now(UTC)
    rt = runtime(db_url, smtp_sink.port, tmp_path)
    try:
        upsert_papers(rt.engine, read_feed_files([FEED]).papers, now=now - timedelta(days=1))
        for i, topic in enumerate(TOPICS):
            upsert_subscriber(rt.engine, SubscriberInput(email=f"r{i}@example.org",
                                                         interests=topic),
                              now=now - timedelta(days=9), status="active", origin="cli")
        monkeypatch.setattr(plan_module, "PLAN_BATCH", 2)
        seen_while_planning: list[int] = []

        def progress(done: int, total: int) -> None:
            if done == 2:  # hold planning until the first batch's mail arrives (or 60 s)
                deadline = time.monotonic() + 60
                while not smtp_sink.handler.received and time.monotonic() < deadline:
                    time.sleep(0.05)
                seen_while_planning.append(len(smtp_sink.handler.received))

        planner = Planner(rt.engine, Rankers(rt.engine, CountingEmbedder()))
        plan, sent = asyncio.run(plan_and_deliver(planner, rt.delivery, now=now,
                                                  on_progress=progress, poll=0.05))
        assert seen_while_planning and seen_while_planning[0] >= 1
        assert plan.planned == 5 and sent.sent == 5
        assert smtp_sink.handler.counts() == {f"r{i}@example.org": 1 for i in range(5)}
        assert counts_by_state(rt.engine) == {"sent": 5}
    finally:
        rt.close()


def test_a_relay_down_mid_edition_stops_both_sides(
        db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing listens on the relay's port: delivery stops with SendMisconfigured (exit 2
    in the CLI), carrying the report of every run; planning stops too (after the batch it
    is in), nothing is left claimed, and every planned row waits for the next send."""
    from digest.errors import SendMisconfigured
    from tests.smtp_sink import free_port

    now = datetime.now(UTC)
    rt = runtime(db_url, free_port(), tmp_path)
    try:
        upsert_papers(rt.engine, read_feed_files([FEED]).papers, now=now - timedelta(days=1))
        for i, topic in enumerate(TOPICS):
            upsert_subscriber(rt.engine, SubscriberInput(email=f"r{i}@example.org",
                                                         interests=topic),
                              now=now - timedelta(days=9), status="active", origin="cli")
        monkeypatch.setattr(plan_module, "PLAN_BATCH", 2)
        planner = Planner(rt.engine, Rankers(rt.engine, CountingEmbedder()))
        with pytest.raises(SendMisconfigured) as caught:
            asyncio.run(plan_and_deliver(planner, rt.delivery, now=now, poll=0.05))
        report = caught.value.report  # type: ignore[attr-defined]
        assert report.sent == 0 and report.aborted
        states = counts_by_state(rt.engine)
        assert "sending" not in states and "sent" not in states
        assert set(states) <= {"pending", "retry"} and sum(states.values()) >= 2
    finally:
        rt.close()

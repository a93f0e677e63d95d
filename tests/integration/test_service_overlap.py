"""The service's deliver job wakes this process's send loop as soon as planning has put a
batch in the ledger: the loop (whose own timer is an hour away) sends the first batch while
later batches are still being ranked, and everyone gets exactly one message."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import digest.app.plan as plan_module
from digest.app.rank import read_feed_files
from digest.config import load_settings
from digest.models import SubscriberInput
from digest.runtime import Runtime
from digest.store.ledger import counts_by_state
from digest.store.papers import upsert_papers
from digest.store.subscribers import upsert_subscriber

FEED = Path(__file__).resolve().parents[2] / "bench" / "data" / "arxiv_api_testing_100.xml"
TOPICS = ["mutation testing", "test generation", "flaky tests", "fuzzing", "software testing"]


def test_the_send_loop_starts_on_the_first_planned_batch(
        db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    now = datetime.now(UTC)
    rt = Runtime(load_settings(database_url=db_url, outbox_dir=tmp_path / "outbox",
                               feeds=[], secret_key="k" * 32))
    try:
        upsert_papers(rt.engine, read_feed_files([FEED]).papers, now=now - timedelta(hours=2))
        for i, topic in enumerate(TOPICS):  # new subscribers: first edition at once
            upsert_subscriber(rt.engine, SubscriberInput(email=f"r{i}@example.org",
                                                         interests=topic),
                              now=now - timedelta(hours=1), status="active", origin="cli")
        monkeypatch.setattr(plan_module, "PLAN_BATCH", 2)
        outbox = rt.settings.outbox_dir
        seen: list[int] = []
        real_lock = plan_module.batch_lock
        batches = [0]

        def sent() -> int:
            return len(list(outbox.glob("*.eml"))) if outbox.is_dir() else 0

        @contextlib.contextmanager
        def watched(engine: object, name: str) -> Iterator[bool]:
            batches[0] += 1
            if batches[0] == 2:  # the second batch waits for the first batch's mail
                deadline = time.monotonic() + 30  # a hang guard, not a timing claim
                while not sent() and time.monotonic() < deadline:
                    time.sleep(0.05)
                seen.append(sent())
            with real_lock(engine, name) as mine:  # type: ignore[arg-type]
                yield mine

        monkeypatch.setattr(plan_module, "batch_lock", watched)

        async def go() -> None:
            sender = rt.sender(lambda: datetime.now(UTC), owner="test-node")
            jobs = rt.scheduled_jobs(sender, lambda: datetime.now(UTC))
            loop = asyncio.create_task(sender.run(timedelta(hours=1)))
            try:
                await jobs.deliver_job()
            finally:
                await sender.stop(timeout=5)
                await loop

        asyncio.run(go())
        assert seen and seen[0] >= 1
        assert counts_by_state(rt.engine) == {"sent": 5}
        assert sent() == 5
    finally:
        rt.close()

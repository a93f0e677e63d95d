"""Runs always end: a broken outbox stops the run at once, and waiting for retries is
bounded in real time even when the clock stands still."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from digest.config import load_settings
from digest.errors import SendAborted
from digest.runtime import Runtime
from digest.store import ledger
from tests.send_world import SECRET, populate
from tests.smtp_sink import SmtpSink

FROZEN = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def test_unwritable_outbox_aborts_the_run_and_loses_nothing(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    outbox.write_text("a file where the outbox directory should be")
    rt = Runtime(load_settings(database_url=f"sqlite:///{tmp_path / 'd.db'}",
                               outbox_dir=outbox, secret_key=SECRET))
    try:
        populate(rt.engine, ["a@example.org", "b@example.org"])
        with pytest.raises(SendAborted, match="DIGEST_OUTBOX_DIR"):
            rt.delivery.deliver()
        counts = ledger.counts_by_state(rt.engine)
        assert counts.get("sent", 0) == 0 and sum(counts.values()) == 2
        assert counts.get("failed", 0) == 0  # nobody is written off for our broken setup
    finally:
        rt.close()


def test_retry_wait_ends_even_with_a_frozen_clock(tmp_path: Path, sqlite_engine: Engine) -> None:
    with SmtpSink() as sink:
        sink.handler.script["slow@example.org"] = ["451 4.3.0 try later"] * 10
        rt = Runtime(load_settings(
            database_url=f"sqlite:///{tmp_path / 'd.db'}", secret_key=SECRET,
            smtp={"host": sink.host, "port": sink.port, "retry_base_seconds": 0.2,
                  "retry_max_seconds": 0.4, "retry_window_seconds": 1.5},
        ))
        try:
            populate(rt.engine, ["slow@example.org", "ok@example.org"], now=FROZEN)
            report = rt.delivery.deliver(clock=lambda: FROZEN)  # time never moves
            assert report.sent == 1 and report.retried >= 1
            assert ledger.counts_by_state(rt.engine) == {"sent": 1, "retry": 1}
        finally:
            rt.close()


def test_a_failed_ledger_commit_ends_the_run_and_gives_every_row_back(
        sqlite_engine: Engine, tmp_path: Path) -> None:
    """The disk fills under the ledger mid-send (the store says StoreFull on the 5th group
    commit): no more DATA goes out unrecorded, the run stops at once with one line, and
    every row it still held is given back for the next run."""
    import asyncio
    from typing import Any

    from digest.errors import StoreFull
    from digest.send.delivery_loop import deliver_due
    from digest.store.ledger_link import StoreLedger
    from tests.send_world import runtime, states

    class FillingDisk(StoreLedger):
        records = 0
        renewals = 0

        async def record(self, outcomes: Any, **kw: Any) -> int:
            self.records += 1
            if self.records >= 5:
                raise StoreFull("the disk holding the database is full (database or disk is full)")
            return await super().record(outcomes, **kw)

        async def renew(self, ids: Any, **kw: Any) -> int:
            self.renewals += 1
            return await super().renew(ids, **kw)

    populate(sqlite_engine, [f"f{i}@example.org" for i in range(30)])
    with SmtpSink() as sink:
        rt = runtime(str(sqlite_engine.url), sink.port, tmp_path, pool_size=2, claim_batch=5,
                     lease_seconds=1.5)
        ledger = FillingDisk(rt.engine)

        async def go() -> None:
            transport = rt.transport()
            try:
                await deliver_due(ledger, transport, rt.delivery.build, owner="w",
                                  smtp=rt.settings.smtp)
            finally:
                await transport.close()

        try:
            with pytest.raises(SendAborted, match=r"ledger database failed.*disk .*full") as stop:
                asyncio.run(go())
            renewals_at_stop = ledger.renewals
            asyncio.run(asyncio.sleep(1.2))  # the run is over: nothing renews its leases now
            assert ledger.renewals == renewals_at_stop
        finally:
            rt.close()
        sent = sum(sink.handler.counts().values())
    assert "\n" not in str(stop.value)
    final = states(sqlite_engine)
    assert "sending" not in final.values()  # every held row given back
    # At most one unrecorded message per connection: the rows marked sent, plus the two
    # in flight when the commit failed (given back, so a rerun may send them again).
    assert list(final.values()).count("sent") <= sent <= list(final.values()).count("sent") + 2
    assert sent < 30

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

"""``digest send`` as a process: crash safety (kill -9), two senders at once, the CLI contract."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from digest.store.db import open_store
from tests.send_world import lease_owners, populate, run_send, smtp_env, start_send, states
from tests.smtp_sink import ScriptedHandler, SmtpSink


@pytest.fixture
def slow_sink() -> Iterator[SmtpSink]:
    # keep_abandoned: a message fully read when its sender died counts as delivered, so the
    # rerun's resend of it is a duplicate: the worst case the bound below must cover.
    with SmtpSink(ScriptedHandler(data_delay=0.25, keep_abandoned=True)) as sink:
        yield sink


def _wait_for(predicate: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the condition")
        time.sleep(0.05)


def test_kill_9_mid_run_then_an_immediate_rerun_loses_nobody(
        engine: Engine, db_url: str, slow_sink: SmtpSink, tmp_path: Path) -> None:
    emails = [f"k{i}@example.org" for i in range(24)]
    populate(engine, emails)
    pool = 3
    # The default 600 s lease: the rerun must not wait for it. The dead sender ran on this
    # machine, and its owner id says so (host:pid:rand:space), so its rows come back at once.
    env = smtp_env(db_url, slow_sink.port, tmp_path, pool_size=pool, claim_batch=6)
    proc = start_send(env, cwd=tmp_path)
    try:
        # Mid-run: some delivered, and rows leased right now (not between two batches).
        _wait_for(lambda: sum(slow_sink.handler.counts().values()) >= 6
                  and "sending" in states(engine).values())
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    first = dict(slow_sink.handler.counts())
    assert 6 <= sum(first.values()) < len(emails), "the kill must land mid-run"
    assert "sending" in states(engine).values()  # leases left behind by the dead worker

    rerun = run_send(env, cwd=tmp_path)  # at once: no waiting for the lease
    assert rerun.returncode == 0, rerun.stderr
    assert "took back" in rerun.stdout
    counts = slow_sink.handler.counts()
    assert set(counts) == set(emails), "nobody missing"
    duplicates = sum(counts.values()) - len(emails)
    print(f"duplicates after kill -9 and rerun: {duplicates} (pool {pool})")
    assert duplicates <= pool, f"{duplicates} duplicates, more than the {pool} in flight"
    assert set(states(engine).values()) == {"sent"}

    again = run_send(env, cwd=tmp_path)
    assert again.returncode == 0
    assert slow_sink.handler.counts() == counts


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_two_senders_at_once_never_double_send(backend: str, tmp_path: Path,
                                               request: pytest.FixtureRequest) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'two.db'}"
    else:
        from tests.conftest import _reset_pg

        url = request.getfixturevalue("pg_database")
        _reset_pg(url)
    engine = open_store(url)
    emails = [f"t{i}@example.org" for i in range(40)]
    try:
        populate(engine, emails)
        gate = threading.Event()
        with SmtpSink(ScriptedHandler(data_delay=0.02, hold=gate)) as sink:
            env = smtp_env(url, sink.port, tmp_path, pool_size=2, claim_batch=4)
            procs = [start_send(env, cwd=tmp_path) for _ in range(2)]
            try:
                # Both must hold leases at the same moment, or this proves nothing.
                _wait_for(lambda: len(lease_owners(engine, "sending")) == 2)
            finally:
                gate.set()
            outputs = [p.communicate(timeout=240) for p in procs]
            assert [p.returncode for p in procs] == [0, 0], outputs
            counts = sink.handler.counts()
        assert counts == {e: 1 for e in emails}
        assert set(states(engine).values()) == {"sent"}
    finally:
        engine.dispose()


def test_cli_contract_dry_run_exit_codes_and_rerun(engine: Engine, db_url: str,
                                                   smtp_sink: SmtpSink, tmp_path: Path) -> None:
    emails = ["a@example.org", "b@example.org", "bad@example.org"]
    populate(engine, emails)
    smtp_sink.handler.script["bad@example.org"] = ["550 5.1.1 mailbox unavailable"]
    env = smtp_env(db_url, smtp_sink.port, tmp_path)

    dry = run_send(env, "--dry-run", cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 3
    assert smtp_sink.handler.counts() == {}
    assert set(states(engine).values()) == {"pending"}  # the ledger is untouched

    only = run_send(env, "--only", "a@example.org", cwd=tmp_path)
    assert only.returncode == 0, only.stderr
    assert smtp_sink.handler.counts() == {"a@example.org": 1}

    rest = run_send(env, cwd=tmp_path)
    assert rest.returncode == 1, "a permanent failure in this run exits 1"
    assert "sent" in rest.stdout and "failed" in rest.stdout
    assert smtp_sink.handler.counts() == {"a@example.org": 1, "b@example.org": 1}

    again = run_send(env, cwd=tmp_path)
    assert again.returncode == 0, "nothing failed in this run"
    assert smtp_sink.handler.counts() == {"a@example.org": 1, "b@example.org": 1}

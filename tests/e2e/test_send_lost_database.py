"""A lost PostgreSQL connection mid-send: the run ends promptly with exit 1 and one line,
gives back its leases, and a rerun (or the service's next drain) completes with no more
duplicates than messages in flight. Only the test's own database's backends are
terminated (tests/conftest.py makes a throwaway database per session)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, make_url, select, text

from digest.store.db import open_store
from digest.store.schema import deliveries
from tests.send_world import populate, run_send, smtp_env, start_send, states
from tests.smtp_sink import ScriptedHandler, SmtpSink, free_port

pytestmark = pytest.mark.postgres
POOL = 4


@pytest.fixture
def pg(pg_database: str) -> Iterator[tuple[str, Engine]]:
    from tests.conftest import _reset_pg

    _reset_pg(pg_database)
    engine = open_store(pg_database)
    yield pg_database, engine
    engine.dispose()


def terminate_backends(url: str) -> int:
    """End every other session on this test's database (and only on it)."""
    name = make_url(url).database
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            return len(conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name}).all())
    finally:
        admin.dispose()


def wait_for(check: Callable[[], object], what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout  # a hang guard, not a timing claim
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_digest_send_ends_and_a_rerun_completes(pg: tuple[str, Engine], tmp_path: Path) -> None:
    url, engine = pg
    emails = [f"p{i}@example.org" for i in range(300)]
    populate(engine, emails)
    # keep_abandoned: a message fully read counts as delivered even if its sender went away
    # before the 250, so a resend is a duplicate: the worst case for the bound below.
    with SmtpSink(ScriptedHandler(data_delay=0.02, keep_abandoned=True)) as sink:
        env = smtp_env(url, sink.port, tmp_path, pool_size=POOL, claim_batch=10)
        proc = start_send(env, cwd=tmp_path)
        try:
            wait_for(lambda: sum(sink.handler.counts().values()) >= 40, "40 messages out")
            killed = terminate_backends(url)
            last = time.monotonic()
            out, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
        waited = time.monotonic() - last
        print(f"terminated {killed} backends; digest send exited {proc.returncode} "
              f"{waited:.1f} s later")
        assert killed >= 1
        assert waited < 60, "the run must end soon after its database went away"
        assert proc.returncode == 1, out + err
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1 and "database" in lines[0], err
        assert "Traceback" not in out + err
        first = sum(sink.handler.counts().values())
        assert first < len(emails), "the connection must be lost mid-send"

        rerun = run_send(env, cwd=tmp_path)
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        counts = sink.handler.counts()
    assert set(counts) == set(emails), "nobody missing"
    duplicates = sum(counts.values()) - len(emails)
    print(f"duplicates after the lost connection and a rerun: {duplicates} (pool {POOL})")
    assert duplicates <= POOL
    assert set(states(engine).values()) == {"sent"}


def test_digest_run_sends_on_in_its_next_drain(pg: tuple[str, Engine], tmp_path: Path) -> None:
    url, engine = pg
    emails = [f"s{i}@example.org" for i in range(200)]
    populate(engine, emails)
    with SmtpSink(ScriptedHandler(data_delay=0.02, keep_abandoned=True)) as sink:
        env = smtp_env(url, sink.port, tmp_path, pool_size=POOL, claim_batch=10)
        env.update({"DIGEST_SCHEDULE__DELIVER_INTERVAL": "2",
                    "DIGEST_SCHEDULE__FETCH_INTERVAL": "3600",
                    "DIGEST_SCHEDULE__LEADER_RETRY": "1"})
        log = (tmp_path / "service.log").open("wb")
        proc = subprocess.Popen([sys.executable, "-m", "digest.cli", "run", "--host",
                                 "127.0.0.1", "--port", str(free_port())],
                                cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: sum(sink.handler.counts().values()) >= 40, "40 messages out")
            assert terminate_backends(url) >= 1
            wait_for(lambda: set(sink.handler.counts()) == set(emails), "everyone's digest")
            wait_for(lambda: "sending" not in states(engine).values(), "no row held")
            # Idle now: nothing is leased, so nothing is being renewed by anyone.
            time.sleep(1)
            with engine.connect() as conn:
                held = conn.execute(select(deliveries.c.id)
                                    .where(deliveries.c.state == "sending")).all()
            assert held == []
        finally:
            proc.terminate()
            proc.wait(timeout=60)
            log.close()
        counts = sink.handler.counts()
    service_log = (tmp_path / "service.log").read_text(errors="replace")
    # The stopped drain is on record as one line (the deliver job's, or the send loop's).
    stopped = [line for line in service_log.splitlines()
               if ('"ok": false' in line or "send_stopped" in line) and "database" in line]
    assert stopped, service_log
    assert "Traceback" not in service_log
    duplicates = sum(counts.values()) - len(emails)
    print(f"duplicates under digest run: {duplicates} (pool {POOL})")
    assert duplicates <= POOL
    assert set(states(engine).values()) == {"sent"}
    assert os.environ.get("DIGEST_TEST_DATABASE_URL")  # the marker's promise

"""``digest run`` as real processes: serving, delivering on schedule, shutting down on
SIGTERM without losing or doubling a message, and handing leadership over on PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from digest.models import SubscriberInput
from digest.store.db import open_store
from digest.store.job_runs import list_runs
from digest.store.schema import deliveries
from digest.store.subscribers import upsert_subscriber
from tests.smtp_sink import ScriptedHandler, SmtpSink, free_port

REPO = Path(__file__).resolve().parents[2]
SEED = REPO / "seeds" / "arxiv_seed.xml"
DIGEST = [str(Path(sys.executable).parent / "digest")]


def wait_for(check: Callable[[], object], what: str, timeout: float = 90.0) -> object:
    """Poll until ``check`` is truthy. The deadline is a hang guard, not a timing claim:
    startup imports scikit-learn and can be slow on a busy machine."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


class Node:
    def __init__(self, tmp: Path, env: dict[str, str], name: str,
                 port: int | None = None) -> None:
        self.port = port or free_port()
        self.log = tmp / f"{name}.log"
        self.proc = subprocess.Popen(
            [*DIGEST, "run", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=tmp, env=env, stdout=self.log.open("wb"), stderr=subprocess.STDOUT)

    def healthy(self) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def is_leader(self) -> bool:
        return '"state": "acquired"' in self.text()

    def stop(self, timeout: float) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def nodes() -> Iterator[list[Node]]:
    started: list[Node] = []
    yield started
    for node in started:
        node.kill()


def service_env(db_url: str, sink: SmtpSink, tmp: Path, **schedule: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    env.update({
        "DIGEST_DATABASE_URL": db_url, "DIGEST_FEEDS": str(SEED),
        "DIGEST_SMTP__HOST": sink.host, "DIGEST_SMTP__PORT": str(sink.port),
        "DIGEST_SECRET_KEY": "s" * 40, "DIGEST_OUTBOX_DIR": str(tmp / "outbox"),
        "DIGEST_SCHEDULE__DELIVER_INTERVAL": "1", "DIGEST_SCHEDULE__LEADER_RETRY": "0.5",
        "DIGEST_SCHEDULE__SHUTDOWN_TIMEOUT": "10",
    })
    env.update({f"DIGEST_SCHEDULE__{k.upper()}": v for k, v in schedule.items()})
    return env


def add_subscribers(db_url: str, *emails: str) -> None:
    engine = open_store(db_url)
    try:
        for email in emails:
            data = SubscriberInput(email=email, interests="large language models reasoning",
                                   frequency="daily", hour=6, papers_per_email=3)
            upsert_subscriber(engine, data, now=datetime.now(UTC) - timedelta(minutes=1),
                              status="active", origin="cli")
    finally:
        engine.dispose()


def states(db_url: str) -> list[str]:
    engine = open_store(db_url)
    try:
        with engine.connect() as conn:
            return sorted(r.state for r in conn.execute(select(deliveries.c.state)))
    finally:
        engine.dispose()


def deliver_runs(db_url: str) -> int:
    engine = open_store(db_url)
    try:
        return len(list_runs(engine, job="deliver"))
    finally:
        engine.dispose()


def sqlite_url(tmp: Path) -> str:
    return f"sqlite:///{tmp / 'digest.db'}"


def test_service_delivers_reports_status_and_a_restart_sends_nothing_twice(
        tmp_path: Path, smtp_sink: SmtpSink, nodes: list[Node]) -> None:
    url = sqlite_url(tmp_path)
    add_subscribers(url, "ada@example.org", "ben@example.org")
    env = service_env(url, smtp_sink, tmp_path)
    nodes.append(node := Node(tmp_path, env, "first"))
    wait_for(node.healthy, "the web app")
    wait_for(lambda: len(smtp_sink.handler.received) >= 2, "two digests")
    status = json.loads(subprocess.run([*DIGEST, "status", "--json"], cwd=tmp_path, env=env,
                                       capture_output=True, check=True).stdout)
    assert status["leader"] is True
    assert set(status["next_runs"]) == {"fetch", "deliver", "housekeeping"}
    assert status["feeds"][0]["status"] == "ok"
    assert status["deliveries"]["sent"] == 2
    assert node.stop(timeout=20) == 0
    assert '"event": "job_run"' in node.text()
    # A restart right after the sends: the deliver job runs again and sends nothing.
    before = deliver_runs(url)
    nodes.append(again := Node(tmp_path, env, "second"))
    wait_for(lambda: deliver_runs(url) > before, "a deliver run after the restart")
    assert again.stop(timeout=20) == 0
    assert sorted(r.recipients[0] for r in smtp_sink.handler.received) == [
        "ada@example.org", "ben@example.org"]
    assert states(url) == ["sent", "sent"]


def test_sigterm_during_a_send_exits_zero_and_a_rerun_completes_without_duplicates(
        tmp_path: Path, nodes: list[Node]) -> None:
    url = sqlite_url(tmp_path)
    people = [f"reader{i}@example.org" for i in range(4)]
    add_subscribers(url, *people)
    with SmtpSink(ScriptedHandler(data_delay=1.0)) as sink:
        # One SMTP connection, so exactly one message is on the wire when SIGTERM lands.
        env = {**service_env(url, sink, tmp_path), "DIGEST_SMTP__POOL_SIZE": "1",
               # The message cut off by SIGTERM is due again after the first backoff: 1 s,
               # not the default 60 s the rerun would otherwise wait for.
               "DIGEST_SMTP__RETRY_BASE_SECONDS": "1"}
        nodes.append(node := Node(tmp_path, env, "node"))
        wait_for(lambda: sink.handler.attempts, "the first message on the wire")
        assert node.stop(timeout=10 + 10) == 0
        assert "sending" not in states(url)
        assert 1 <= len(sink.handler.received) < len(people)
        rerun = subprocess.run([*DIGEST, "send"], cwd=tmp_path, env=env, capture_output=True,
                               check=False)
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        got = sorted(r.recipients[0] for r in sink.handler.received)
    assert got == sorted(people)
    assert states(url) == ["sent"] * len(people)


@pytest.mark.postgres
def test_two_nodes_on_postgresql_one_leader_no_duplicates_and_takeover(
        pg_database: str, tmp_path: Path, smtp_sink: SmtpSink, nodes: list[Node]) -> None:
    from tests.conftest import _reset_pg

    _reset_pg(pg_database)
    add_subscribers(pg_database, "ada@example.org", "ben@example.org", "chen@example.org")
    env = service_env(pg_database, smtp_sink, tmp_path)
    nodes.append(a := Node(tmp_path, env, "a"))
    wait_for(a.is_leader, "a leader")
    nodes.append(b := Node(tmp_path, env, "b"))
    wait_for(b.healthy, "the second node")
    wait_for(lambda: len(smtp_sink.handler.received) >= 3, "three digests")
    assert a.is_leader() and not b.is_leader()
    a.kill()  # no goodbye: PostgreSQL drops the dead session's advisory lock
    wait_for(b.is_leader, "the second node to take over")
    add_subscribers(pg_database, "dana@example.org")
    wait_for(lambda: smtp_sink.handler.to("dana@example.org"), "dana's digest from the new leader")
    assert b.stop(timeout=20) == 0
    got = sorted(r.recipients[0] for r in smtp_sink.handler.received)
    assert got == ["ada@example.org", "ben@example.org", "chen@example.org", "dana@example.org"]

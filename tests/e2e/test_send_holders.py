"""Who holds which deliveries, said plainly: ``digest send`` and ``digest status`` name the
other senders holding rows and until when; a holder that died on this machine gives its
rows back at once."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from digest.send.owners import _space
from digest.store import claims
from tests.send_world import populate, run_send, smtp_env, states
from tests.smtp_sink import SmtpSink


def test_send_and_status_name_other_holders_and_a_dead_one_gives_back_at_once(
        engine: Engine, db_url: str, smtp_sink: SmtpSink, tmp_path: Path) -> None:
    ids = populate(engine, ["a@example.org", "b@example.org", "c@example.org"])
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        owner = f"{socket.gethostname()}:{other.pid}:f00d42:{_space()}"
        until = datetime.now(UTC) + timedelta(seconds=600)
        held = claims.claim_batch(engine, owner=owner, now=datetime.now(UTC), limit=2,
                                  lease=timedelta(seconds=600))
        assert len(held) == 2
        env = smtp_env(db_url, smtp_sink.port, tmp_path)
        first = run_send(env, cwd=tmp_path)
        assert first.returncode == 0, first.stdout + first.stderr  # all it could send went
        assert smtp_sink.handler.counts() == {"c@example.org": 1}
        assert f"2 deliveries held by another sender ({owner}) until " in first.stdout
        assert until.strftime("%Y-%m-%d %H:%M") in first.stdout

        status = subprocess.run([sys.executable, "-m", "digest.cli", "status", "--json"],
                                cwd=tmp_path, env=env, capture_output=True, text=True,
                                check=True)
        data = json.loads(status.stdout)
        assert data["held"] == [{"owner": owner, "rows": 2, "until": data["held"][0]["until"],
                                 "holder": "alive"}]
        assert data["deliveries"]["sending"] == 2
        text = subprocess.run([sys.executable, "-m", "digest.cli", "status"], cwd=tmp_path,
                              env={**env, "COLUMNS": "200"}, capture_output=True, text=True,
                              check=True).stdout
        assert f"held: 2 deliveries by sender {owner} until" in text
        assert "a running process on this machine" in text
    finally:
        other.kill()
        other.wait()

    # Its process is gone now: the next send takes those rows back at once.
    second = run_send(env, cwd=tmp_path)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "took back 2 deliveries" in second.stdout
    assert smtp_sink.handler.counts() == {e: 1 for e in ("a@example.org", "b@example.org",
                                                         "c@example.org")}
    assert set(states(engine).values()) == {"sent"} and len(ids) == 3


def test_status_counts_suppressions_by_reason_and_unknown_outcomes(
        engine: Engine, db_url: str, tmp_path: Path) -> None:
    from digest.models import Outcome
    from digest.store.subscribers import suppress_address

    ids = populate(engine, ["u@example.org", "h@example.org"])
    now = datetime.now(UTC)
    suppress_address(engine, "0" * 64, reason="removed", now=now)
    with engine.begin() as conn:
        claims.count_hard_bounce(conn, ids["h@example.org"], now=now, threshold=1)
    [row] = claims.claim_batch(engine, owner="w", now=now, limit=1, lease=timedelta(seconds=60),
                               subscriber_ids=[ids["u@example.org"]])
    claims.record_outcomes(engine, [Outcome(row.id, "unknown", error="outcome unknown: x",
                                            unknown=True)], owner="w", now=now)
    env = smtp_env(db_url, 25, tmp_path)
    data = json.loads(subprocess.run([sys.executable, "-m", "digest.cli", "status", "--json"],
                                     cwd=tmp_path, env=env, capture_output=True, text=True,
                                     check=True).stdout)
    assert data["suppressions"] == {"hard bounce": 1, "removed": 1}
    assert data["deliveries"]["outcome unknown"] == 1
    assert any(e["state"] == "unknown" and "outcome unknown" in e["error"]
               for e in data["delivery_errors"])

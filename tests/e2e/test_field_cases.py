"""The field cases of ../shared/field_cases/ (copied to tests/fixtures/field_cases/) that
belong to delivery, run as the README there says: 04 (IDN domains through a relay without
SMTPUTF8), 05 (Exim/Gmail-style replies, judged by who is at fault), 06 (a DMARC block:
nobody suppressed, the run names SPF/DKIM/DMARC) and 15 (STARTTLS against an implicit-TLS
port: one line naming the setting, exit 2)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from digest.store.schema import subscribers, suppressions
from digest.store.subscribers import list_subscribers
from tests.send_world import populate, run_send, smtp_env, states
from tests.smtp_sink import free_port

CASES = Path(__file__).resolve().parents[1] / "fixtures" / "field_cases"


@contextmanager
def field_server(script: str, port: int, log: Path, *mode: str) -> Iterator[None]:
    """Run a field-case server script (``python FILE PORT [LOGFILE] [MODE]``) until done."""
    args = [sys.executable, str(CASES / script), str(port)]
    if script.startswith("05"):
        args += [str(log), *mode]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None and "listening" in proc.stdout.readline()
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def log_entries(log: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def delivered(log: Path) -> list[str]:
    """The local parts the 05 server logged a whole message for (after the final dot)."""
    return [str(e["rcpt"]) for e in log_entries(log) if "data_bytes" in e]


def run_cli(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "digest.cli", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=300, check=False)


def import_case(env: dict[str, str], csv_name: str, engine: Engine, tmp: Path) -> list[str]:
    """Import a field-case CSV with the CLI, then plan the current edition for everyone."""
    done = run_cli(env, "subscribers", "import", str(CASES / csv_name), cwd=tmp)
    assert done.returncode == 0, done.stdout + done.stderr
    emails = [s.email for s in list_subscribers(engine)]
    populate(engine, emails)
    return emails


def stderr_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


def test_06_dmarc_block_suppresses_nobody_names_spf_dkim_dmarc_and_recovers(
        engine: Engine, db_url: str, tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "odd.log"
    env = smtp_env(db_url, port, tmp_path, retry_base_seconds=1)
    emails = import_case(env, "06_dmarc_block_subscribers.csv", engine, tmp_path)
    assert len(emails) == 5
    with field_server("05_oddsmtp_server.py", port, log, "dmarc"):
        blocked = run_send(env, cwd=tmp_path)
    assert blocked.returncode != 0
    assert blocked.returncode == 2  # the setup (exit-code rule), not the readers
    lines = stderr_lines(blocked)
    assert len(lines) == 1, blocked.stderr
    for name in ("SPF", "DKIM", "DMARC", "5.7.26", "This mail is unauthenticated"):
        assert name in lines[0]
    assert "Traceback" not in blocked.stdout + blocked.stderr
    # Zero suppressed: every reader still active, the suppression list empty.
    with engine.connect() as conn:
        assert set(conn.execute(select(subscribers.c.status)).scalars()) == {"active"}
        assert conn.execute(select(suppressions)).first() is None
    assert "failed" not in states(engine).values()
    # Stopped after 3 refusals in a row; up to 3 more were already on the 4 connections.
    # (With five readers that is everyone; test_send_sender_abort.py shows "early" on 60.)
    assert 3 <= len(delivered(log)) <= 3 + 4 - 1

    # The sink fixed (same port, normal mode): a rerun delivers everyone exactly once.
    log.unlink()
    with field_server("05_oddsmtp_server.py", port, log, "normal"):
        fixed = run_send(env, cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert sorted(delivered(log)) == sorted(e.split("@")[0] for e in emails)
    assert set(states(engine).values()) == {"sent"}


def test_05_each_reply_is_judged_by_who_is_at_fault(engine: Engine, db_url: str,
                                                    tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "odd.log"
    # The server's behaviour is per local part: see the script's REPLIES.
    ids = populate(engine, ["ok@example.net", "bare@example.net", "bounce@example.net",
                            "quota@example.net", "ratelimit@example.net"])
    env = smtp_env(db_url, port, tmp_path, retry_window_seconds=0)
    with field_server("05_oddsmtp_server.py", port, log, "normal"):
        result = run_send(env, cwd=tmp_path)
    assert result.returncode == 1  # a failure and two retries in this run
    final = states(engine)
    assert final[ids["ok@example.net"]] == "sent"
    assert final[ids["bare@example.net"]] == "sent"  # a code-only "250" is still a 250
    assert final[ids["bounce@example.net"]] == "failed"  # 550-5.1.1: the mailbox
    assert final[ids["quota@example.net"]] == "retry"  # 452-4.2.2: full, for now
    assert final[ids["ratelimit@example.net"]] == "retry"  # 421-4.7.0: us, for now
    statuses = {s.email: s.status for s in list_subscribers(engine)}
    assert statuses == {"ok@example.net": "active", "bare@example.net": "active",
                        "bounce@example.net": "bounced", "quota@example.net": "active",
                        "ratelimit@example.net": "active"}
    assert "5.1.1 The email account that you tried to reach does not exist" in result.stderr


def test_05_blank_line_in_the_ehlo_reply_still_delivers(engine: Engine, db_url: str,
                                                        tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "odd.log"
    populate(engine, ["ada@example.net", "ben@example.net"])
    env = smtp_env(db_url, port, tmp_path)
    with field_server("05_oddsmtp_server.py", port, log, "blankline"):
        result = run_send(env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(delivered(log)) == ["ada", "ben"]  # fell back to HELO, once each
    assert any(str(e.get("cmd", "")).upper().startswith("HELO") for e in log_entries(log))


@pytest.mark.parametrize("csv_name", ["04_idn_subscribers.csv", "04_idn_punycode_subscriber.csv"])
def test_04_an_idn_domain_goes_through_a_relay_without_smtputf8(
        engine: Engine, db_url: str, tmp_path: Path, csv_name: str) -> None:
    port, log = free_port(), tmp_path / "odd.log"
    env = smtp_env(db_url, port, tmp_path)
    emails = import_case(env, csv_name, engine, tmp_path)
    assert "lea@bücher.example" in emails or emails == ["lea@xn--bcher-kva.example"]
    if "punycode" in csv_name:
        assert emails == ["lea@xn--bcher-kva.example"]  # typed punycode stays as typed
    with field_server("05_oddsmtp_server.py", port, log, "normal"):  # no SMTPUTF8 in EHLO
        result = run_send(env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    commands = [str(e["cmd"]) for e in log_entries(log) if "cmd" in e]
    assert "RCPT TO:<lea@xn--bcher-kva.example>" in commands
    assert not any("SMTPUTF8" in c for c in commands)
    assert sorted(delivered(log)) == sorted(e.split("@")[0] for e in emails)
    assert set(states(engine).values()) == {"sent"}


def test_15_starttls_against_implicit_tls_is_one_line_exit_2(sqlite_engine: Engine,
                                                              tmp_path: Path) -> None:
    engine, port = sqlite_engine, free_port()  # the database plays no part here
    populate(engine, [f"r{i}@example.net" for i in range(6)])
    env = smtp_env(str(engine.url), port, tmp_path, security="starttls")  # default timeouts
    with field_server("15_silent_implicit_tls_server.py", port, tmp_path / "unused.log"):
        started = time.monotonic()
        result = subprocess.run([sys.executable, "-m", "digest.cli", "send"], env=env,
                                cwd=tmp_path, capture_output=True, text=True, timeout=60,
                                check=False)  # the timeout is the "under a minute" guard
        took = time.monotonic() - started
    print(f"starttls against implicit TLS: exit {result.returncode} after {took:.1f} s")
    assert result.returncode == 2
    lines = stderr_lines(result)
    assert len(lines) == 1, result.stderr
    assert "DIGEST_SMTP__SECURITY" in lines[0] and "implicit-TLS" in lines[0]
    assert "Traceback" not in result.stdout + result.stderr
    # Nothing lost and no attempt spent on readers: the rows wait for the fixed setup.
    assert set(states(engine).values()) == {"retry"}

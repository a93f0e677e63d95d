"""``digest run`` with its fetch and plan jobs in child processes: Ctrl-C (SIGINT to the whole
process group, as a terminal sends it) while a job child is alive stops the service cleanly,
without a traceback, and leaves no child behind."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from tests.e2e.test_service_process import DIGEST, add_subscribers, service_env, wait_for
from tests.smtp_sink import SmtpSink, free_port


def job_children(pid: int) -> list[int]:
    """The service's children running a job (multiprocessing's spawn_main)."""
    found: list[int] = []
    for task in os.listdir(f"/proc/{pid}/task"):
        for child in Path(f"/proc/{pid}/task/{task}/children").read_text().split():
            try:
                cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
            except OSError:
                continue
            if b"spawn_main" in cmdline:
                found.append(int(child))
    return found


def test_ctrl_c_while_a_job_child_runs_stops_cleanly(tmp_path: Path, smtp_sink: SmtpSink) -> None:
    url = f"sqlite:///{tmp_path / 'digest.db'}"
    add_subscribers(url, "ada@example.org")
    log = tmp_path / "service.log"
    proc = subprocess.Popen(
        [*DIGEST, "run", "--host", "127.0.0.1", "--port", str(free_port())],
        cwd=tmp_path, env=service_env(url, smtp_sink, tmp_path), stdout=log.open("wb"),
        stderr=subprocess.STDOUT, start_new_session=True)
    try:
        children: list[int] = wait_for(  # type: ignore[assignment]
            lambda: job_children(proc.pid), "a job child")
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    text = log.read_text(errors="replace")
    assert "Traceback" not in text and "KeyboardInterrupt" not in text, text
    assert '"event": "stopped"' in text
    for child in children:
        assert not Path(f"/proc/{child}").exists()

"""Settings fail early and plainly (issue 18): ``cp .env.example .env`` as the README says
runs the demo, and a setting a run needs is refused before any fetch or plan, with one line
naming it and exit 2."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DIGEST = Path(sys.executable).with_name("digest")


def digest(workdir: Path, *args: str, env: dict[str, str] | None = None,
           ) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    clean.update(env or {}, COLUMNS="200")
    return subprocess.run([str(DIGEST), *args], cwd=workdir, env=clean, capture_output=True,
                          text=True, timeout=300, check=False)


def test_env_example_copied_as_is_runs_the_demo(workdir: Path) -> None:
    # The README: `cp .env.example .env`, then `digest run --once`. Its empty values
    # (DIGEST_SMTP__HOST=, DIGEST_SMTP__DKIM_KEY_PATH=, DIGEST_SECRET_KEY=) mean "not set".
    shutil.copy(REPO / ".env.example", workdir / ".env")
    result = digest(workdir, "run", "--once")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    demo = len(list((workdir / "subscribers").glob("*.toml")))
    assert len(list((workdir / "outbox").glob("*.eml"))) == demo


PRODUCTION = {"DIGEST_MODE": "production"}
SECRET = {"DIGEST_SECRET_KEY": "k" * 40}
CASES = {
    "secret": (PRODUCTION, "DIGEST_SECRET_KEY"),
    "empty-secret": ({**PRODUCTION, "DIGEST_SECRET_KEY": ""}, "DIGEST_SECRET_KEY"),
    "smtp-user-alone": ({"DIGEST_SMTP__HOST": "127.0.0.1", "DIGEST_SMTP__USERNAME": "me"},
                        "DIGEST_SMTP__PASSWORD"),
    "smtp-password-alone": ({"DIGEST_SMTP__HOST": "127.0.0.1", "DIGEST_SMTP__PASSWORD": "pw"},
                            "DIGEST_SMTP__USERNAME"),
    "dkim-key-alone": ({"DIGEST_SMTP__DKIM_KEY_PATH": "dkim.pem"}, "DIGEST_SMTP__DKIM_SELECTOR"),
    "dkim-selector-alone": ({"DIGEST_SMTP__DKIM_SELECTOR": "s1"}, "DIGEST_SMTP__DKIM_KEY_PATH"),
    "dkim-key-missing": ({"DIGEST_SMTP__DKIM_KEY_PATH": "nope.pem",
                          "DIGEST_SMTP__DKIM_SELECTOR": "s1"}, "DIGEST_SMTP__DKIM_KEY_PATH"),
}
COMMANDS = (["run", "--once"], ["send"], ["serve"], ["preview"],
            ["subscribers", "add", "a@example.org", "--interests", "graphs"])


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_missing_setting_stops_before_any_work(workdir: Path, case: str,
                                                 command: list[str]) -> None:
    env, setting = CASES[case]
    (workdir / "dkim.pem").write_text("-----BEGIN PRIVATE KEY-----\n")
    result = digest(workdir, *command, env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and setting in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    # Before any work: nothing fetched, planned or written.
    assert not (workdir / "digest.db").exists()
    assert not (workdir / "outbox").exists()

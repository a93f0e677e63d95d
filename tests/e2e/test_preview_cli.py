"""`digest preview` as the README runs it: for a demo subscriber and for free-text interests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from email import message_from_bytes, policy
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DIGEST = Path(sys.executable).with_name("digest")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo store: the README's first command fills it from the seed feed."""
    path = tmp_path_factory.mktemp("preview")
    shutil.copytree(REPO / "seeds", path / "seeds")
    shutil.copytree(REPO / "subscribers", path / "subscribers")
    first = run(path, "run", "--once")
    assert first.returncode == 0, first.stdout + first.stderr
    return path


def run(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    env.update(COLUMNS="200", PATH="/nonexistent")  # no spamassassin: keep this test quick
    return subprocess.run([str(DIGEST), *args], cwd=workdir, env=env, capture_output=True,
                          text=True, timeout=180)


def test_preview_for_a_demo_subscriber_writes_what_would_be_sent(workdir: Path) -> None:
    outbox_before = sorted((workdir / "outbox").glob("*.eml"))
    result = run(workdir, "preview", "--subscriber", "ada@example.org", "--out", "pv")
    assert result.returncode == 0, result.stdout + result.stderr
    files = sorted(p.suffix for p in (workdir / "pv").iterdir())
    assert files == [".eml", ".html", ".txt"]
    eml = next((workdir / "pv").glob("*.eml"))
    message = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert message["To"].addresses[0].addr_spec == "ada@example.org"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = next((workdir / "pv").glob("*.html")).read_text()
    assert "<h2" in html and "Unsubscribe" in html
    assert sorted((workdir / "outbox").glob("*.eml")) == outbox_before  # nothing sent


def test_preview_for_free_text_interests(workdir: Path) -> None:
    result = run(workdir, "preview", "--interests", "pointer networks and beam search",
                 "--out", "pv2")
    assert result.returncode == 0, result.stdout + result.stderr
    text = next((workdir / "pv2").glob("*.txt")).read_text()
    assert "Why it's here:" in text or "quiet" in text


def test_preview_refuses_both_selectors(workdir: Path) -> None:
    result = run(workdir, "preview", "--subscriber", "ada@example.org", "--interests", "x")
    assert result.returncode == 2

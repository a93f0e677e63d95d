"""``digest fetch`` over every feed fixture at once: a truthful summary, never a traceback,
exit 1 only when every feed failed."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from digest.cli import app
from tests.feed_files import FEEDS, feed_file, reference_files


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DIGEST_DATABASE_URL", f"sqlite:///{tmp_path / 'digest.db'}")
    monkeypatch.setenv("COLUMNS", "200")
    # The CLI's console read COLUMNS when first imported, maybe by an earlier test in this
    # process (pytest-xdist workers): its width is set here, not left to import order.
    from digest.cli.common import console

    monkeypatch.setattr(console, "width", 200)
    return tmp_path


def fetch(*feeds: str) -> tuple[int, str]:
    args = ["fetch"]
    for feed in feeds:
        args += ["--feed", feed]
    result = CliRunner().invoke(app, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_every_fixture_file_at_once(cli_env: Path) -> None:
    # Committed fixtures plus the reference-only inputs from ../shared/realdata when present.
    extra = [str(p) for p in reference_files()]
    files = sorted(str(p) for p in FEEDS.rglob("*") if p.is_file()) + extra
    code, out = fetch(*files)
    assert code == 0
    assert "Traceback" not in out
    summary = out.strip().splitlines()[-1]
    assert summary.startswith(f"{len(files)} feeds: ")
    assert "failed" in summary and " 0 ok" not in summary
    assert "arXiv API error: incorrect id format for abc" in out
    assert "neither XML nor JSON" in out  # SOURCES.md and LICENSE files, honestly reported
    # Every file's row says what it did: kept, replacements skipped, mojibake repaired.
    header = next(line for line in out.splitlines() if "kept" in line)
    assert all(word in header for word in ("kept", "new", "replacements", "repaired"))
    assert "replacements skipped" in summary and "repaired" in summary
    assert "arXiv replacements of papers never seen as new skipped" in out
    assert "mojibake repaired in 1 paper" in out  # fidelity/rss_lab_mojibake.xml
    assert "invalid byte sequence replaced with U+FFFD" in out  # fidelity/rss_declared_utf8_…
    # The same files again: nothing changed, nothing re-parsed.
    code, out = fetch(str(FEEDS), *extra)  # a directory stands for the files below it
    assert code == 0 and "0 new, 0 updated" in out.strip().splitlines()[-1]


def test_exit_1_only_when_every_feed_failed(cli_env: Path) -> None:
    bad = cli_env / "page.html"
    bad.write_text("<!DOCTYPE html><html><body>nope</body></html>")
    code, out = fetch(str(bad), str(cli_env / "missing.xml"))
    assert code == 1 and "Traceback" not in out
    summary, error = out.strip().splitlines()[-2:]  # the summary, then the one error line
    assert summary.startswith("2 feeds: 0 ok, 0 not modified, 2 failed")
    assert error.startswith("every feed failed:")
    weekend = feed_file("arxiv_rss/rss_cs_cl_weekend_empty_2026-08-01_All-News-AI.xml")
    code, _ = fetch(str(bad), str(weekend))
    assert code == 0  # one feed worked (an empty weekend feed is a success)

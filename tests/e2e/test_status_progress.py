"""``digest status`` shows the running edition's progress (and the last finished one):
planned, sent, due, retrying, in flight, failed/bounced, the send rate over the last
minutes and the time left, in text and in ``--json``. The ledger is the one
tests/integration/test_edition_progress.py builds, relative to the wall clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from digest.cli import app
from tests.integration.test_edition_progress import build_ledger
from tests.send_world import smtp_env


@pytest.fixture
def env(engine: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build_ledger(engine, datetime.now(UTC))
    for key, value in smtp_env(db_url, 2525, tmp_path).items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)


@pytest.mark.usefixtures("env")
def test_status_json_has_each_edition_in_progress() -> None:
    result = CliRunner().invoke(app, ["status", "--json"])
    assert result.exit_code == 0, result.output
    editions = {e["edition"]: e for e in json.loads(result.stdout)["editions"]}
    assert list(editions) == ["weekly:2026-W41", "weekly:2026-W48", "daily:2026-12-01"]
    running = editions["weekly:2026-W48"]
    assert {k: running[k] for k in ("planned", "sent", "due", "retrying", "in_flight", "failed",
                                    "bounced", "suppressed", "finished")} == {
        "planned": 12, "sent": 4, "due": 3, "retrying": 2, "in_flight": 2, "failed": 0,
        "bounced": 0, "suppressed": 1, "finished": False}
    # 3 sent in the last 5 minutes (2, 3 and 4 minutes ago): 0.6 a minute; 7 rows left
    # (3 due, 2 retrying, 2 in flight) at that rate: 7 / 0.6 minutes.
    assert running["rate_per_minute"] == pytest.approx(0.6)
    assert running["minutes_left"] == pytest.approx(7 / 0.6)
    done = editions["weekly:2026-W41"]
    assert (done["finished"], done["sent"], done["failed"], done["bounced"]) == (True, 3, 1, 1)
    assert done["minutes_left"] is None and done["rate_per_minute"] == 0


@pytest.mark.usefixtures("env")
def test_status_text_shows_the_running_edition() -> None:
    result = CliRunner().invoke(app, ["status"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.startswith("edition ")]
    assert lines == [
        "edition weekly:2026-W41 (finished): 4 planned, 3 sent, 0 due, 0 retrying, "
        "0 in flight, 1 failed, 1 bounced",
        "edition weekly:2026-W48: 12 planned, 4 sent, 3 due, 2 retrying, 2 in flight, "
        "0 failed, 0 bounced, 1 suppressed; 0.6 sent/min over the last 5 min, about 12 min "
        "left",
        "edition daily:2026-12-01: 2 planned, 0 sent, 1 due, 0 retrying, 0 in flight, "
        "0 failed, 0 bounced, 1 outcome unknown; nothing sent in the last 5 min",
    ]

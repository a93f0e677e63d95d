"""`digest rank` against the store: stored papers, a subscriber's profile and what they got."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from typer.testing import CliRunner

from digest.cli import app
from digest.store.schema import deliveries, subscribers

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def store_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DIGEST_DATABASE_URL", f"sqlite:///{tmp_path / 'digest.db'}")
    monkeypatch.setenv("DIGEST_FEEDS", str(REPO / "seeds" / "arxiv_seed.xml"))
    monkeypatch.setenv("DIGEST_SUBSCRIBERS_DIR", str(REPO / "subscribers"))
    return tmp_path


def _rank(*args: str) -> list[dict[str, object]]:
    result = CliRunner().invoke(app, ["rank", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_rank_for_a_subscriber_leaves_out_what_they_were_sent(store_env: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["run", "--once"]).exit_code == 0
    engine = create_engine(f"sqlite:///{store_env / 'digest.db'}")
    with engine.connect() as conn:
        (picks_json,) = conn.execute(
            select(deliveries.c.picks).join(subscribers, subscribers.c.id == deliveries.c.subscriber_id)
            .where(subscribers.c.email == "ben@example.org")
        ).one()
    engine.dispose()
    sent = {p["id"] for p in picks_json}
    assert len(sent) == 5
    picks = _rank("--subscriber", "ben@example.org", "--top", "20")
    assert len(picks) > 0 and not sent & {p["id"] for p in picks}
    assert all(p["reasons"] for p in picks)


def test_unknown_subscriber_is_a_usage_error(store_env: Path) -> None:
    result = CliRunner().invoke(app, ["rank", "--subscriber", "nobody@example.org"])
    assert result.exit_code == 2
    assert "no subscriber" in result.stderr


def test_empty_store_ranks_the_configured_feeds(store_env: Path) -> None:
    picks = _rank("--interests", "state space models like Mamba", "--top", "3")
    assert len(picks) == 3 and any("Mamba" in str(p["title"]) for p in picks)

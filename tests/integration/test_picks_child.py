"""The web pages' picks ranked in a child process (``digest.job_children.RankInChild``): the
same ranking as in this process (``digest.app.rankers.ThisWeek``), on SQLite and PostgreSQL,
and a failure in the child reaches the page's caller as the same kind of error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from digest.app.rank import read_feed_files
from digest.app.rankers import ThisWeek
from digest.app.reader import example_reader
from digest.config import Settings, load_settings
from digest.errors import StoreError
from digest.job_children import RankInChild
from digest.runtime import Runtime
from digest.store.papers import upsert_papers

FEED = Path(__file__).resolve().parents[2] / "bench" / "data" / "arxiv_api_testing_100.xml"
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def _settings(url: str, tmp_path: Path) -> Settings:
    return load_settings(database_url=url, secret_key="s" * 32, outbox_dir=tmp_path / "out",
                         from_address="digest@example.org")


def test_a_child_ranks_what_this_process_ranks(db_url: str, tmp_path: Path) -> None:
    rt = Runtime(_settings(db_url, tmp_path))
    try:
        upsert_papers(rt.engine, read_feed_files([FEED]).papers, now=NOW - timedelta(days=1))
        reader = example_reader("mutation testing")
        here = ThisWeek(rt.rankers)(reader, "mutation testing; fuzzing", now=NOW, limit=4)
        there = RankInChild(rt.settings)(reader, "mutation testing; fuzzing", now=NOW, limit=4)
        nothing = RankInChild(rt.settings)(reader, "   ", now=NOW, limit=4)
    finally:
        rt.close()
    assert len(here.picks) == 4
    assert [(p.paper.id, round(p.score, 6), p.reasons) for p in there.picks] == [
        (p.paper.id, round(p.score, 6), p.reasons) for p in here.picks]
    assert there.picks[0].paper == here.picks[0].paper
    assert nothing.picks == ()


def test_a_failure_in_the_child_is_raised_here(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'd.db'}"
    picker = RankInChild(_settings(url, tmp_path))
    with pytest.raises(StoreError):
        picker(example_reader("x"), "graph neural networks", now=NOW, limit=3)

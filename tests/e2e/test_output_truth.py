"""Progress and truth in output (issue 18): planning reports progress per subscriber, a
failed feed says why at 80 columns, ``status`` names the database and the outbox, a run
warns when it has no subscribers or no feeds, and a dry run says what it wrote."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from digest.config import load_settings
from digest.runtime import Runtime
from digest.store.schema import deliveries

REPO = Path(__file__).resolve().parents[2]
DIGEST = Path(sys.executable).with_name("digest")


def digest(workdir: Path, *args: str, env: dict[str, str] | None = None,
           ) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    clean.update(env or {}, COLUMNS="80")
    return subprocess.run([str(DIGEST), *args], cwd=workdir, env=clean, capture_output=True,
                          text=True, timeout=300, check=False)


def test_planning_reports_each_subscriber_ranked(workdir: Path) -> None:
    rt = Runtime(load_settings(database_url=f"sqlite:///{workdir / 'digest.db'}",
                               feeds=[str(workdir / "seeds" / "arxiv_seed.xml")]))
    try:
        now = datetime(2026, 11, 30, 9, tzinfo=UTC)
        rt.subscribers.sync(workdir / "subscribers", now=now)
        rt.fetcher.fetch(now=now)
        calls: list[tuple[int, int]] = []
        rt.planner.plan(now=now, on_progress=lambda done, total: calls.append((done, total)))
    finally:
        rt.close()
    readers = len(list((workdir / "subscribers").glob("*.toml")))
    # Planning works in batches (issue 20): the bar hears as each batch is ranked, from
    # nothing done to every reader, never going back.
    done = [d for d, _ in calls]
    assert all(total == readers for _, total in calls)
    assert done == sorted(done) and done[-1] == readers and len(calls) >= 2


def test_a_failed_feed_says_why_at_80_columns(workdir: Path) -> None:
    result = digest(workdir, "fetch", "--feed", "missing-feed.xml")
    assert result.returncode == 1
    assert "cannot read missing-feed.xml: No such file or directory" in " ".join(
        result.stdout.split())


def test_status_names_the_database_and_the_outbox(workdir: Path) -> None:
    first = digest(workdir, "status")
    assert first.returncode == 0, first.stderr
    assert f"database: SQLite file {workdir.resolve() / 'digest.db'}" in first.stdout
    assert f"outbox: {workdir.resolve() / 'outbox'}/" in first.stdout
    assert "there was no database" in first.stderr  # this run created an empty one
    again = digest(workdir, "status")
    assert "there was no database" not in again.stderr
    url = "postgresql+psycopg://digest:hunter2@127.0.0.1:1/digest"
    refused = digest(workdir, "status", env={"DIGEST_DATABASE_URL": url})
    assert refused.returncode == 75 and "hunter2" not in refused.stdout + refused.stderr
    assert "digest:***@127.0.0.1:1/digest" in refused.stderr


@pytest.mark.parametrize(("env", "warning"), [
    ({"DIGEST_FEEDS": "[]"}, "warning: no feeds configured"),
    ({"DIGEST_SUBSCRIBERS_DIR": "nobody-here"}, "warning: no active subscribers"),
])
def test_a_run_with_nothing_to_work_on_says_so(workdir: Path, env: dict[str, str],
                                               warning: str) -> None:
    result = digest(workdir, "run", "--once", env=env)
    assert warning in result.stderr


def test_a_dry_run_says_what_it_wrote(workdir: Path) -> None:
    digest(workdir, "subscribers", "sync", "subscribers")
    digest(workdir, "fetch")
    result = digest(workdir, "send", "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr
    readers = len(list((workdir / "subscribers").glob("*.toml")))
    said = " ".join(result.stdout.split())
    assert f"dry run: {readers} messages written to outbox/, nothing sent" in said
    assert f"the ledger gained {readers} planned deliveries (pending" in said
    engine = create_engine(f"sqlite:///{workdir / 'digest.db'}")
    with engine.connect() as conn:
        states = dict(conn.execute(select(deliveries.c.state, func.count())
                                   .group_by(deliveries.c.state)).all())
    engine.dispose()
    assert states == {"pending": readers}  # what it said: planned, none sent
    assert len(list((workdir / "outbox").glob("*.eml"))) == readers

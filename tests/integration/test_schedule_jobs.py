"""The scheduled jobs on a real store, driven by a controllable clock (no real waiting)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from digest.config import load_settings
from digest.models import Paper, SubscriberInput
from digest.runtime import Runtime
from digest.schedule.scheduler import build_scheduler
from digest.store.job_runs import list_runs
from digest.store.papers import upsert_papers
from digest.store.profile_vectors import read_profile_vectors, save_profile_vectors
from digest.store.schema import deliveries, editions, subscribers
from digest.store.subscribers import get_subscriber, upsert_subscriber

REPO = Path(__file__).resolve().parents[2]
SEED = REPO / "seeds" / "arxiv_seed.xml"
SUNDAY = datetime(2026, 11, 29, 12, tzinfo=UTC)
MONDAY_8 = datetime(2026, 11, 30, 8, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def rt(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    settings = load_settings(database_url=db_url, outbox_dir=tmp_path / "outbox",
                             feeds=[str(SEED)], secret_key="k" * 32)
    runtime = Runtime(settings)
    yield runtime
    runtime.close()


def add_subscriber(rt: Runtime, email: str, *, now: datetime, status: str = "active",
                   **kw: object) -> int:
    data = SubscriberInput(email=email, interests="large language models reasoning", **kw)  # type: ignore[arg-type]
    sid, _ = upsert_subscriber(rt.engine, data, now=now, status=status, origin="cli")
    return sid


def run_job(rt: Runtime, clock: Clock, job: str) -> None:
    """Run one scheduled job ("fetch", "deliver", "housekeeping") as the leader would."""
    async def go() -> None:
        jobs = rt.scheduled_jobs(rt.sender(clock, owner="test-node"), clock)
        await getattr(jobs, f"{job}_job")()

    asyncio.run(go())


def outbox(rt: Runtime) -> list[Path]:
    directory = rt.settings.outbox_dir
    return sorted(directory.glob("*.eml")) if directory.is_dir() else []


def rows(rt: Runtime, email: str) -> list[tuple[str, str, str | None]]:
    query = (select(editions.c.key, deliveries.c.state, deliveries.c.last_error)
             .join(editions, editions.c.id == deliveries.c.edition_id)
             .join(subscribers, subscribers.c.id == deliveries.c.subscriber_id)
             .where(subscribers.c.email == email).order_by(deliveries.c.id))
    with rt.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(query)]  # type: ignore[misc]


def established(rt: Runtime) -> Clock:
    """ada, weekly on Monday 08:00 UTC, got last week's edition; new papers came since."""
    clock = Clock(MONDAY_8 - timedelta(days=7, hours=1))
    run_job(rt, clock, "fetch")
    add_subscriber(rt, "ada@example.org", now=MONDAY_8 - timedelta(days=10), weekday=0, hour=8)
    clock.now = MONDAY_8 - timedelta(days=7) + timedelta(minutes=5)
    run_job(rt, clock, "deliver")
    assert [r[:2] for r in rows(rt, "ada@example.org")] == [("weekly:2026-W48", "sent")]
    for day in (3, 10):
        upsert_papers(rt.engine, [paper(f"2611.{day:05d}", f"Language models reasoning {day}")],
                      now=MONDAY_8 - timedelta(days=7 - day))
    return clock


def test_down_over_the_due_time_sends_once_when_back_within_the_grace(rt: Runtime) -> None:
    clock = established(rt)
    clock.now = MONDAY_8 - timedelta(minutes=1)
    run_job(rt, clock, "deliver")
    assert len(outbox(rt)) == 1 and len(rows(rt, "ada@example.org")) == 1
    # The service was down from 07:59 to 10:00: the 08:00 edition goes out once, late.
    clock.now = MONDAY_8 + timedelta(hours=2)
    run_job(rt, clock, "deliver")
    assert [r[:2] for r in rows(rt, "ada@example.org")][1:] == [("weekly:2026-W49", "sent")]
    assert len(outbox(rt)) == 2
    # A restart right after the send (a new runtime, a new scheduler) sends nothing more.
    again = Runtime(rt.settings)
    try:
        clock.now += timedelta(minutes=1)
        run_job(again, clock, "deliver")
    finally:
        again.close()
    assert len(outbox(rt)) == 2
    assert len(rows(rt, "ada@example.org")) == 2


def test_down_past_the_too_late_limit_records_a_skip_then_sends_next_period(rt: Runtime) -> None:
    clock = established(rt)
    clock.now = MONDAY_8 + timedelta(hours=25)
    run_job(rt, clock, "deliver")
    key, state, note = rows(rt, "ada@example.org")[-1]
    assert (key, state) == ("weekly:2026-W49", "skipped")
    assert note is not None and "too late" in note
    assert len(outbox(rt)) == 1
    clock.now += timedelta(hours=1)  # the skip is recorded once, not on every run
    run_job(rt, clock, "deliver")
    assert len(rows(rt, "ada@example.org")) == 2
    deliver_runs = list_runs(rt.engine, job="deliver")
    assert [r.counts["skipped_late"] for r in deliver_runs[-2:]] == [1, 0]
    clock.now = MONDAY_8 + timedelta(days=7, minutes=3)
    run_job(rt, clock, "deliver")
    assert [r[:2] for r in rows(rt, "ada@example.org")][-1] == ("weekly:2026-W50", "sent")
    assert len(outbox(rt)) == 2
    # The skipped week's paper was not lost: the next edition carries it.
    with rt.engine.connect() as conn:
        last = conn.execute(select(deliveries.c.picks).order_by(deliveries.c.id.desc())).first()
    assert last is not None and "2611.00003" in {p["id"] for p in last.picks}


def test_too_late_limit_is_a_setting(db_url: str, tmp_path: Path) -> None:
    settings = load_settings(database_url=db_url, outbox_dir=tmp_path / "outbox",
                             feeds=[str(SEED)], secret_key="k" * 32,
                             schedule={"too_late": 3600})
    runtime = Runtime(settings)
    try:
        clock = Clock(SUNDAY)
        run_job(runtime, clock, "fetch")
        add_subscriber(runtime, "ada@example.org", now=MONDAY_8 - timedelta(days=10),
                       weekday=0, hour=8)
        clock.now = MONDAY_8 + timedelta(hours=2)
        run_job(runtime, clock, "deliver")
        assert [r[1] for r in rows(runtime, "ada@example.org")] == ["skipped"]
    finally:
        runtime.close()


def paper(pid: str, title: str) -> Paper:
    return Paper(id=pid, title=title, abstract=f"{title}. We study large language models "
                 "and their reasoning on benchmarks.", url=f"https://arxiv.org/abs/{pid}")


def test_edition_covers_papers_since_the_previous_delivered_edition(rt: Runtime) -> None:
    clock = Clock(SUNDAY)
    upsert_papers(rt.engine, [paper("2611.00001", "Reasoning in large language models")],
                  now=SUNDAY - timedelta(days=2))
    sid = add_subscriber(rt, "ada@example.org", now=SUNDAY - timedelta(days=3), frequency="daily",
                         hour=9, papers_per_email=1)
    clock.now = datetime(2026, 11, 29, 9, 5, tzinfo=UTC)
    run_job(rt, clock, "deliver")
    assert [r[1] for r in rows(rt, "ada@example.org")] == ["sent"]
    # Papers arrive while the service is down for three days (the daily editions in between
    # are skipped as too late); the next edition still carries what arrived after the
    # last one that went out, and nothing from before it.
    upsert_papers(rt.engine, [paper("2611.00002", "Older language models reasoning survey")],
                  now=datetime(2026, 11, 29, 8, tzinfo=UTC))
    upsert_papers(rt.engine, [paper("2611.00003", "Large language models reasoning with tools")],
                  now=datetime(2026, 11, 30, 12, tzinfo=UTC))
    clock.now = datetime(2026, 12, 2, 9, 1, tzinfo=UTC)
    run_job(rt, clock, "deliver")
    with rt.engine.connect() as conn:
        picks = [r.picks for r in conn.execute(
            select(deliveries.c.picks).where(deliveries.c.subscriber_id == sid,
                                             deliveries.c.state == "sent")
            .order_by(deliveries.c.id))]
    assert [[p["id"] for p in ps] for ps in picks] == [["2611.00001"], ["2611.00003"]]


def test_once_plans_the_current_period_regardless_of_the_hour(rt: Runtime) -> None:

    run_job(rt, Clock(SUNDAY), "fetch")
    add_subscriber(rt, "ada@example.org", now=SUNDAY - timedelta(days=9), weekday=3, hour=23)
    assert rt.planner.plan(now=SUNDAY).planned == 1  # digest run --once / digest send
    # The service counts this week as served: no second edition, and no "too late" skip
    # for Thursday's 23:00 that passed 61 hours ago.
    later = rt.planner.plan(now=SUNDAY + timedelta(hours=1), scheduled=True)
    assert (later.planned, later.skipped_late) == (0, 0)
    assert [r[:2] for r in rows(rt, "ada@example.org")] == [("weekly:2026-W48", "pending")]


def test_the_service_honours_the_hour_after_a_first_edition_at_once(rt: Runtime) -> None:

    run_job(rt, Clock(SUNDAY), "fetch")
    add_subscriber(rt, "ben@example.org", now=datetime(2026, 11, 28, 14, tzinfo=UTC),
                   frequency="daily", hour=13)
    add_subscriber(rt, "cy@example.org", now=datetime(2026, 11, 28, 14, tzinfo=UTC),
                   frequency="daily", hour=13)
    # Joined Saturday 14:00, after Saturday's 13:00: ben gets a first edition at once,
    # cy (first_at_once off) waits for Sunday 13:00; after that both follow the hour.
    first = rt.planner.plan(now=datetime(2026, 11, 28, 14, 5, tzinfo=UTC), scheduled=True,
                 only="ben@example.org")
    assert first.planned == 1
    for only in ("ben@example.org", "cy@example.org"):
        assert rt.planner.plan(now=SUNDAY, scheduled=True, first_at_once=False, only=only).planned == 0
        assert rt.planner.plan(now=SUNDAY + timedelta(hours=1), scheduled=True,
                    first_at_once=False, only=only).planned == 1
    assert [r[0] for r in rows(rt, "ben@example.org")] == ["daily:2026-11-28", "daily:2026-11-29"]
    assert [r[0] for r in rows(rt, "cy@example.org")] == ["daily:2026-11-29"]


def test_job_runs_are_recorded_with_one_log_line_each(rt: Runtime,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock(SUNDAY)
    with caplog.at_level(logging.INFO, logger="digest.jobs"):
        run_job(rt, clock, "fetch")
        run_job(rt, clock, "housekeeping")
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "digest.jobs"]
    assert [(line["event"], line["job"], line["ok"]) for line in lines] == [
        ("job_run", "fetch", True), ("job_run", "housekeeping", True)]
    assert lines[0]["new"] == 60
    runs = list_runs(rt.engine)
    assert [(r.job, r.ok, r.counts.get("new")) for r in runs] == [("fetch", True, 60),
                                                                  ("housekeeping", True, None)]


def test_a_failing_job_is_recorded_not_raised(db_url: str, tmp_path: Path) -> None:
    settings = load_settings(database_url=db_url, outbox_dir=tmp_path / "outbox",
                             feeds=[str(SEED)], secret_key="k" * 32)
    runtime = Runtime(settings)
    try:
        runtime.engine  # noqa: B018 - open the store first
        settings.outbox_dir.write_text("not a directory")
        clock = Clock(SUNDAY)
        add_subscriber(runtime, "ada@example.org", now=SUNDAY - timedelta(days=1),
                       frequency="daily", hour=11)
        run_job(runtime, clock, "fetch")
        run_job(runtime, clock, "deliver")
        [run] = list_runs(runtime.engine, job="deliver")
        assert run.ok is False
        assert run.error is not None and "Error" in run.error
    finally:
        runtime.close()


def test_housekeeping_expires_unconfirmed_signups_and_prunes_the_outbox(rt: Runtime) -> None:
    add_subscriber(rt, "old@example.org", now=SUNDAY - timedelta(days=8), status="pending")
    add_subscriber(rt, "new@example.org", now=SUNDAY - timedelta(days=1), status="pending")
    add_subscriber(rt, "active@example.org", now=SUNDAY - timedelta(days=90))
    box = rt.settings.outbox_dir
    box.mkdir()
    stale, fresh = box / "stale.eml", box / "fresh.eml"
    for path, age in ((stale, 31), (fresh, 2)):
        path.write_text("x")
        stamp = (SUNDAY - timedelta(days=age)).timestamp()
        os.utime(path, (stamp, stamp))
    save_profile_vectors(rt.engine, "m", {"gone": b"1"}, now=SUNDAY - timedelta(days=91))
    save_profile_vectors(rt.engine, "m", {"kept": b"2"}, now=SUNDAY - timedelta(days=89))
    run_job(rt, Clock(SUNDAY), "housekeeping")
    assert set(read_profile_vectors(rt.engine, "m", ["gone", "kept"], now=SUNDAY)) == {"kept"}
    assert get_subscriber(rt.engine, email="old@example.org") is None
    assert get_subscriber(rt.engine, email="new@example.org") is not None
    assert get_subscriber(rt.engine, email="active@example.org") is not None
    assert not stale.exists() and fresh.exists()
    [run] = list_runs(rt.engine, job="housekeeping")
    assert run.counts == {"expired_signups": 1, "pruned_outbox_files": 1,
                          "pruned_profile_vectors": 1}


def test_a_new_leader_runs_every_job_at_once_then_on_its_interval(rt: Runtime) -> None:
    async def go() -> dict[str, tuple[object, ...]]:
        clock = Clock(SUNDAY)
        jobs = rt.scheduled_jobs(rt.sender(clock, owner="test-node"), clock)
        scheduler = build_scheduler(jobs.table(), misfire_grace=rt.settings.schedule.misfire_grace,
                                    now=SUNDAY)
        scheduler.start(paused=True)
        try:
            return {job.id: (job.next_run_time, job.trigger.interval, job.coalesce,
                             job.max_instances, job.misfire_grace_time)
                    for job in scheduler.get_jobs()}
        finally:
            scheduler.shutdown(wait=False)

    # The documented defaults (.env.example): fetch hourly, deliver every 5 minutes,
    # housekeeping every 6 hours, 10 minutes' misfire grace; one instance, coalesced.
    assert asyncio.run(go()) == {
        "fetch": (SUNDAY, timedelta(hours=1), True, 1, 600),
        "deliver": (SUNDAY, timedelta(minutes=5), True, 1, 600),
        "housekeeping": (SUNDAY, timedelta(hours=6), True, 1, 600),
    }


def test_planning_again_with_nothing_new_since_the_last_edition_is_harmless(rt: Runtime) -> None:
    """Regression: `digest send` right after the service sent used to fit the ranker on an
    empty window and crash with "empty vocabulary"."""

    run_job(rt, Clock(SUNDAY), "fetch")
    add_subscriber(rt, "ada@example.org", now=SUNDAY - timedelta(days=1), frequency="daily")
    assert rt.planner.plan(now=SUNDAY).planned == 1
    assert rt.delivery.deliver(clock=Clock(SUNDAY)).sent == 1
    assert rt.planner.plan(now=SUNDAY + timedelta(minutes=5)).already == 1
    # Next day, no paper arrived since the last edition: nothing new, no crash.
    assert rt.planner.plan(now=SUNDAY + timedelta(days=1)).nothing_new == 1


def test_a_job_stopped_while_its_run_is_recorded_ends_quietly(
        rt: Runtime, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """Ctrl-C can land while a finished job writes its ``job_runs`` row (CI saw apscheduler
    print a CancelledError traceback for housekeeping): the run is interrupted, not failed."""
    import threading

    import digest.app.scheduled_jobs as scheduled_jobs
    recording, release = threading.Event(), threading.Event()
    real_record = scheduled_jobs.record_job_run

    def slow_record(*args: object, **kwargs: object) -> object:
        recording.set()
        release.wait(10)
        return real_record(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(scheduled_jobs, "record_job_run", slow_record)
    clock = Clock(SUNDAY)

    async def go() -> None:
        jobs = rt.scheduled_jobs(rt.sender(clock, owner="test-node"), clock)
        task = asyncio.create_task(jobs.housekeeping_job())
        while not recording.is_set():
            await asyncio.sleep(0.01)
        task.cancel()
        await task  # raised CancelledError into the scheduler before the fix

    try:
        with caplog.at_level(logging.INFO, logger="digest.service"):
            asyncio.run(go())
    finally:
        release.set()
    assert '"event": "job_interrupted", "job": "housekeeping"' in caplog.text

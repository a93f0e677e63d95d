"""The service's fetch and plan jobs in a child process (``digest.schedule.child``): the same
results, the same recorded errors, and a parent that never imports the numeric stack."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from digest.config import load_settings
from digest.errors import ConfigError, StoreLocked
from digest.models import SubscriberInput
from digest.runtime import Runtime
from digest.schedule.child import run_in_child
from digest.store.job_runs import list_runs
from digest.store.subscribers import upsert_subscriber

REPO = Path(__file__).resolve().parents[2]
SEED = REPO / "seeds" / "arxiv_seed.xml"
SUNDAY = datetime(2026, 11, 29, 12, tzinfo=UTC)


# -- functions a child runs (module level, so they pickle by reference) --------------------
def add(a: int, b: int) -> int:
    return a + b


def fail_with_store_locked() -> None:
    raise StoreLocked("the database is locked by another writer")


class NeedsTwo(Exception):
    def __init__(self, a: str, b: str) -> None:  # pickles, but does not unpickle
        super().__init__(f"{a} and {b}")


def fail_unpicklable() -> None:
    raise NeedsTwo("this", "that")


def interrupt_myself() -> str:
    os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C sends the whole process group
    return "still here"


def sigint_blocked_from_the_start() -> bool:
    return signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, [])


def die() -> None:
    os._exit(3)


def test_a_child_returns_its_result() -> None:
    assert run_in_child(add, 2, b=3) == 5


def test_a_digest_error_crosses_with_its_type_and_text() -> None:
    with pytest.raises(StoreLocked, match="locked by another writer") as raised:
        run_in_child(fail_with_store_locked)
    assert any("fail_with_store_locked" in note for note in raised.value.__notes__)


def test_an_exception_that_cannot_cross_keeps_its_name_and_text() -> None:
    with pytest.raises(Exception) as raised:
        run_in_child(fail_unpicklable)
    assert f"{type(raised.value).__name__}: {raised.value}" == "NeedsTwo: this and that"


def test_the_child_leaves_ctrl_c_to_the_parent() -> None:
    assert run_in_child(interrupt_myself) == "still here"


def test_ctrl_c_cannot_reach_a_child_while_it_starts() -> None:
    """Before the child's own code runs (interpreter start, imports: a second or more), a
    Ctrl-C would print a KeyboardInterrupt traceback: the child starts with SIGINT blocked."""
    assert run_in_child(sigint_blocked_from_the_start) is True


def test_a_child_that_dies_is_an_error_naming_its_exit_code() -> None:
    with pytest.raises(RuntimeError, match="exit code 3"):
        run_in_child(die)


# -- the service's jobs -----------------------------------------------------------------------
@pytest.fixture
def settings_kw(db_url: str, tmp_path: Path) -> Iterator[dict[str, object]]:
    yield {"database_url": db_url, "outbox_dir": tmp_path / "outbox", "secret_key": "k" * 32}


class Clock:
    def __call__(self) -> datetime:
        return SUNDAY


def run_job(rt: Runtime, job: str, *, in_child: bool) -> None:
    async def go() -> None:
        jobs = rt.scheduled_jobs(rt.sender(Clock(), owner="test-node"), Clock(),
                                 in_child=in_child)
        await getattr(jobs, f"{job}_job")()

    asyncio.run(go())


def test_a_broken_feed_setting_is_recorded_the_same_from_the_child(
        settings_kw: dict[str, object]) -> None:
    rt = Runtime(load_settings(feeds=["broken="], **settings_kw))
    try:
        with pytest.raises(ConfigError) as direct:
            rt.fetcher.fetch(now=SUNDAY)
        run_job(rt, "fetch", in_child=True)
        [run] = list_runs(rt.engine, job="fetch")
    finally:
        rt.close()
    assert run.error == f"ConfigError: {direct.value}"


LIGHT_PARENT = """
import asyncio, json, sys
from datetime import datetime, UTC
from pathlib import Path
from digest.config import load_settings
from digest.runtime import Runtime
from digest.store.job_runs import list_runs
rt = Runtime(load_settings(database_url=sys.argv[1], outbox_dir=Path(sys.argv[2]),
                           feeds=[sys.argv[3]], secret_key="k" * 32))
now = datetime(2026, 11, 29, 12, tzinfo=UTC)
async def go():
    jobs = rt.scheduled_jobs(rt.sender(lambda: now, owner="n"), lambda: now, in_child=True)
    await jobs.fetch_job()
    await jobs.deliver_job()
asyncio.run(go())
print(json.dumps({
    "heavy": sorted(m for m in ("numpy", "sklearn", "scipy", "onnxruntime", "pylatexenc",
                                "feedparser") if m in sys.modules),
    "runs": {r.job: [r.error, r.counts] for r in list_runs(rt.engine)}}))
"""


def test_fetch_and_deliver_in_children_send_the_edition_and_the_parent_stays_light(
        settings_kw: dict[str, object], tmp_path: Path) -> None:
    settings = load_settings(feeds=[str(SEED)], **settings_kw)
    rt = Runtime(settings)
    try:
        upsert_subscriber(rt.engine, SubscriberInput(
            email="ada@example.org", interests="large language models reasoning",
            frequency="daily"), now=datetime(2026, 11, 28, tzinfo=UTC), status="active",
            origin="cli")
    finally:
        rt.close()
    done = subprocess.run(
        [sys.executable, "-c", LIGHT_PARENT, str(settings_kw["database_url"]),
         str(settings_kw["outbox_dir"]), str(SEED)],
        cwd=tmp_path, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.splitlines()[-1])
    assert found["heavy"] == []
    fetch_error, fetched = found["runs"]["fetch"]
    deliver_error, delivered = found["runs"]["deliver"]
    assert (fetch_error, fetched["new"], deliver_error) == (None, 60, None)
    assert (delivered["planned"], delivered["sent"]) == (1, 1)
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1


def test_a_childs_now_moves_on_by_its_start_delay() -> None:
    """A plan whose ``now`` predates papers stored while its child started would count them
    as unseen, and the next plan would send them again (the SIGTERM e2e test caught it)."""
    import time
    from datetime import timedelta

    from digest.schedule.child import started_now

    moved = started_now(SUNDAY, time.monotonic() - 5)
    assert timedelta(seconds=5) <= moved - SUNDAY < timedelta(seconds=60)


def test_a_plan_in_a_child_still_wakes_the_send_loop_while_it_runs(
        settings_kw: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> None:
    """The deliver job hands planning a callback that wakes the send loop after each batch;
    a callback cannot cross into the child (it failed to pickle), so the parent calls it on
    a timer while the child plans."""
    import digest.job_children as runtime_module

    monkeypatch.setattr(runtime_module, "CHILD_PLAN_TICK", 0.05)
    rt = Runtime(load_settings(**settings_kw))
    calls: list[tuple[int, int]] = []
    try:
        jobs = rt.scheduled_jobs(rt.sender(Clock(), owner="test-node"), Clock(), in_child=True)
        counts = jobs.run_plan(now=SUNDAY, on_progress=lambda d, t: calls.append((d, t)))
    finally:
        rt.close()
    assert counts["planned"] == 0  # nobody subscribed: the child still ran the plan
    assert calls and set(calls) == {(1, 0)}  # a child takes far longer than 0.05 s to start


def start_a_process_of_its_own() -> int:
    """What planning helpers need: a job child that can have children (a daemonic one may
    not), so ``digest run`` plans on every core as ``digest send`` does."""
    import multiprocessing

    helper = multiprocessing.get_context("spawn").Process(target=os.getpid, daemon=True)
    helper.start()
    helper.join()
    return int(helper.exitcode or 0)


def test_a_job_child_may_start_planning_helpers() -> None:
    assert run_in_child(start_a_process_of_its_own) == 0


EXITING_PARENT = """
import multiprocessing, os, sys, threading, time
from pathlib import Path
from digest.schedule.child import run_in_child

def helper() -> None:
    time.sleep(120)

def job(pids: str) -> None:
    h = multiprocessing.get_context("spawn").Process(target=helper, daemon=True)
    h.start()
    Path(pids).write_text(f"{os.getpid()} {h.pid}")
    time.sleep(120)

if __name__ == "__main__":
    threading.Thread(target=run_in_child, args=(job, sys.argv[1]), daemon=True).start()
    while not Path(sys.argv[1]).exists():
        time.sleep(0.05)
    sys.exit(0)  # the service stopping while a job child (and its helper) works
"""


def test_the_parents_exit_ends_a_job_child_and_its_helpers(tmp_path: Path) -> None:
    script, pids = tmp_path / "parent.py", tmp_path / "pids"
    script.write_text(EXITING_PARENT)
    done = subprocess.run([sys.executable, str(script), str(pids)], cwd=REPO, timeout=60,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    for pid in map(int, pids.read_text().split()):
        for _ in range(100):  # reaped by now, or at the latest moments after
            if not Path(f"/proc/{pid}").exists() or "Z" in _state(pid):
                break
            time.sleep(0.05)
        assert not Path(f"/proc/{pid}").exists() or "Z" in _state(pid), pid


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"

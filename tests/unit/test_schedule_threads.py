"""Blocking work off the loop (``schedule.threads``): work that outlives its event loop (the
service stopped meanwhile) ends quietly instead of printing "Exception in thread" at exit."""

from __future__ import annotations

import asyncio
import contextlib
import threading

from digest.schedule.threads import in_daemon_thread


def test_work_that_outlives_its_loop_ends_quietly() -> None:
    release = threading.Event()

    def work() -> int:
        release.wait(10)
        return 1

    async def go() -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(in_daemon_thread(work), 0.05)

    asyncio.run(go())  # the loop is closed now; the work still runs
    [worker] = [t for t in threading.enumerate() if t.name == "digest-job" and t.is_alive()]
    errors: list[BaseException | None] = []
    previous = threading.excepthook
    threading.excepthook = lambda args: errors.append(args.exc_value)
    try:
        release.set()
        worker.join(10)
    finally:
        threading.excepthook = previous
    assert errors == []

"""The service's numeric work in short-lived child processes (``digest.schedule.child`` says
why): fetch and plan (a stand-in with the Fetcher's and the Planner's calls), and the web
pages' "this week's picks" (a ``digest.app.reader.Picker``), each child over a Runtime of its
own."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from digest.config import Settings
from digest.models import Ranking, Subscriber
from digest.runtime import Runtime

# Picks ranked in children at once. One: a ranking child costs a core for a few seconds
# (interpreter, numpy, the encoder, the pool's index) and ~250 MB; visitors who check
# interests together wait their turn instead of starting one child each.
RANKING_CHILDREN = 1

# Seconds between wake-ups of the send loop while a child plans (a planning batch of 200
# readers takes ~0.3 s of CPU, so a few batches are committed between two looks).
CHILD_PLAN_TICK = 2.0


class InChild:
    """Stands in for the service's Fetcher and Planner: ``fetch`` and ``plan`` run in a
    short-lived child process each (``digest.schedule.child`` says why); keyword arguments
    must pickle (no callbacks); results are ``plain`` copies (same fields, no methods)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def fetch(self, *, now: datetime, **kwargs: Any) -> Any:
        """See ``digest.app.fetch.Fetcher.fetch``."""
        from digest.schedule.child import run_in_child

        return run_in_child(child_work, "fetch", self.settings, time.monotonic(),
                            {"now": now, **kwargs})

    def plan(self, *, now: datetime, on_progress: Callable[[int, int], None] | None = None,
             **kwargs: Any) -> Any:
        """See ``digest.app.plan.Planner.plan``. ``on_progress`` cannot cross into the child:
        it is called with (1, 0) every CHILD_PLAN_TICK seconds while the child plans, so a
        send loop it wakes takes each committed batch as it would in-process."""
        from digest.schedule.child import run_in_child

        stop = threading.Event()
        if on_progress is not None:
            def tick() -> None:
                while not stop.wait(CHILD_PLAN_TICK):
                    on_progress(1, 0)

            threading.Thread(target=tick, name="digest-plan-tick", daemon=True).start()
        try:
            return run_in_child(child_work, "plan", self.settings, time.monotonic(),
                                {"now": now, **kwargs})
        finally:
            stop.set()


def child_work(what: str, settings: Settings, called_at: float, kwargs: dict[str, Any]) -> Any:
    """In the child: one fetch or plan over a Runtime of its own."""
    from digest.schedule.child import plain, started_now

    rt = Runtime(settings)
    try:
        # Store opened (and the ranker loaded) before the clock is read: see started_now.
        work = rt.fetcher.fetch if what == "fetch" else rt.planner.plan
        kwargs["now"] = started_now(kwargs["now"], called_at)
        return plain(work(**kwargs))
    finally:
        rt.close()


class RankInChild:
    """``digest.app.reader.Picker`` for the web app: each ranking in a short-lived child
    process (the web process never imports the ranker; its ~250 MB goes back to the system
    when the child exits), at most RANKING_CHILDREN at a time. Blocks until done (called
    from request threads, never on the event loop); raises what the ranking raised."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._turns = threading.BoundedSemaphore(RANKING_CHILDREN)

    def __call__(self, subscriber: Subscriber, interests: str, *, now: datetime,
                 limit: int) -> Ranking:
        from digest.schedule.child import run_in_child

        with self._turns:
            ranking: Ranking = run_in_child(child_picks, self.settings, subscriber, interests,
                                            now, limit)
        return ranking


def child_picks(settings: Settings, subscriber: Subscriber, interests: str, now: datetime,
                limit: int) -> Ranking:
    """In the child: ``digest.app.rankers.ThisWeek`` over a Runtime of its own."""
    from digest.app.rankers import ThisWeek

    rt = Runtime(settings)
    try:
        return ThisWeek(rt.rankers)(subscriber, interests, now=now, limit=limit)
    finally:
        rt.close()

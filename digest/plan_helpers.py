"""Planning across this machine's cores: helper processes that plan the same pass as the
process that started them, each taking the batches it locks first (store.plan_locks).

Ranking is CPU work in Python and numpy; the GIL makes threads useless for it, so helpers
are processes (spawned: a fresh interpreter, no forked locks or connections). Each opens
its own store and encoder from the same settings. A helper that fails just ends: the
starting process then reads the pass's ledger rows once and plans any batch still
missing a row (``Planner.plan``), so nothing is left unplanned and nothing is planned twice
(one ledger row per edition and subscriber).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess

from digest.app.plan import PlanArgs, Planner
from digest.config import Settings

log = logging.getLogger("digest.plan")

# Below this many due subscribers one process plans alone: a helper's start (a new
# interpreter, numpy, the encoder, the pool's vectors) costs ~3 s of CPU, about as much as
# ranking 2,000 readers (bench/edition.py: ~1.4 ms CPU a reader, issue 20).
PLAN_HELP_FROM = 5000


def helper_count(settings: Settings, due: int) -> int:
    """How many helper processes to start for ``due`` subscribers (``plan_processes``:
    0 = the machine's cores for big editions only, n = n processes in all)."""
    wanted = settings.plan_processes
    if wanted == 0:
        wanted = (os.cpu_count() or 1) if due >= PLAN_HELP_FROM else 1
    return max(0, min(wanted - 1, due // 200))  # no more helpers than batches to share


def _helper(settings: Settings, args: PlanArgs) -> None:
    """A helper's body: plan the pass as one more worker; every failure ends it quietly
    (one log line), the starting process covers its batches."""
    from digest.runtime import Runtime

    try:
        rt = Runtime(settings)
        try:
            Planner(rt.engine, rt.rankers).plan(
                now=args.now, only=args.only, scheduled=args.scheduled,
                too_late=args.too_late, first_at_once=args.first_at_once)
        finally:
            rt.close()
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group: the parent decides
        pass
    except Exception as exc:  # a helper never prints a traceback on the user's terminal
        log.warning("a planning helper stopped: %s", exc)


@dataclass
class PlanProcesses:
    """``Planner.helpers`` for these settings: starts the helpers of one pass."""

    settings: Settings
    started: list[BaseProcess] = field(default_factory=list)

    def __call__(self, args: PlanArgs, due: int) -> PlanProcesses | None:
        count = helper_count(self.settings, due)
        # A daemonic process may not have children (the service's job child is not one).
        if count == 0 or multiprocessing.current_process().daemon:
            return None
        ctx = multiprocessing.get_context("spawn")
        run = PlanProcesses(self.settings)
        try:
            for _ in range(count):
                process = ctx.Process(target=_helper, args=(self.settings, args), daemon=True,
                                      name="digest-plan-helper")
                process.start()
                run.started.append(process)
        except (OSError, ValueError, AssertionError, RuntimeError) as exc:
            # No helpers (no /dev/shm, a process limit, a frozen interpreter): the pass is
            # planned by this process alone, as with DIGEST_PLAN_PROCESSES=1.
            log.warning("planning in one process: helpers could not start (%s)", exc)
        return run if run.started else None

    def join(self) -> None:
        """Wait for this pass's helpers to end."""
        for process in self.started:
            process.join()

    def stop(self) -> None:
        """End this pass's helpers now (a batch they were writing rolls back)."""
        for process in self.started:
            process.terminate()
        self.join()

"""Use case: plan an edition and deliver it at the same time, so the first messages leave
once the first batch of subscribers is in the ledger, not after everyone is ranked.

Planning runs in a worker thread (``Planner.plan``, batch by batch, each batch committed);
the event loop runs the delivery loop over whatever is due, again whenever planning has
added rows, and once more after planning ends. Every row is still claimed under a lease
and recorded as before, so nothing is sent twice however the two interleave.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import fields
from datetime import datetime

from digest.app.deliver import Delivery
from digest.app.plan import Planner, PlanReport, Progress
from digest.send.outcome import SendReport

# Counts that add up over the delivery runs; the rest describe the ledger at the end.
_SUMMED = ("sent", "retried", "failed", "suppressed", "skipped", "bounced", "lease_lost",
           "reclaimed")


def merge_reports(total: SendReport, run: SendReport) -> SendReport:
    """``total`` with ``run`` added: counts summed, errors and recipients appended, and what
    the last run saw at its end (waiting, unknown, others, abort) taken from ``run``."""
    out = SendReport()
    for f in fields(SendReport):
        name = f.name
        if name in _SUMMED:
            setattr(out, name, getattr(total, name) + getattr(run, name))
        elif name in ("errors", "recipients"):
            setattr(out, name, [*getattr(total, name), *getattr(run, name)])
        else:
            setattr(out, name, getattr(run, name))
    return out


async def plan_and_deliver(planner: Planner, delivery: Delivery, *, now: datetime,
                           only: str | None = None, on_progress: Progress | None = None,
                           poll: float = 0.5) -> tuple[PlanReport, SendReport]:
    """Plan (as ``Planner.plan(now=now, only=only)``) while delivering what is planned.

    ``on_progress(done, total)`` hears planning's progress (from the planning thread).
    ``poll``: seconds the delivery side waits for more rows when nothing is due. Returns
    (plan report, the delivery runs' merged report); stops delivering at the first run
    that aborts. Raises what planning raises (StoreError), after delivery has stopped.
    """
    planned = threading.Event()  # set by each planning batch, cleared when delivery looks

    def progress(done: int, total: int) -> None:
        planned.set()
        if on_progress:
            on_progress(done, total)

    planning = asyncio.ensure_future(asyncio.to_thread(
        planner.plan, now=now, only=only, on_progress=progress))
    sent = SendReport()
    while True:
        finished = planning.done()
        planned.clear()
        run = await delivery.deliver_async(only=only)
        sent = merge_reports(sent, run)
        if run.aborted or finished:
            break
        while not planned.is_set() and not planning.done():
            await asyncio.wait([planning], timeout=poll)
    return await planning, sent

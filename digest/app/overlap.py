"""Use case: plan an edition and deliver it at the same time, so the first messages leave
once the first batch of subscribers is in the ledger, not after everyone is ranked.

Planning runs in a worker thread (``Planner.plan``, batch by batch, each batch committed);
the event loop runs the delivery loop over whatever is due, again whenever planning has
added rows, and once more after planning ends. Every row is still claimed under a lease
and recorded as before, so nothing is sent twice however the two interleave.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from dataclasses import fields
from datetime import datetime

from digest.app.deliver import Delivery
from digest.app.plan import Planner, PlanReport, Progress
from digest.errors import SendAborted
from digest.send.outcome import SendReport

# Counts that add up over the delivery runs; the rest describe the ledger at the end.
# ``waiting`` and ``unknown`` (rows a run left for a retry, or with an unknown outcome) are
# summed too: a later run does not see a row whose retry time has not come, so taking the
# last run's figure would lose it and turn exit 1 into 0 (cli/send.py). A row retried in
# one run and sent by a later one of the same command is then counted once too often: the
# safe side (exit 1, and `digest status` tells the truth).
_SUMMED = ("sent", "retried", "failed", "suppressed", "skipped", "bounced", "lease_lost",
           "reclaimed", "waiting", "unknown")


class _Stop(Exception):
    """Raised from planning's progress hook once delivery has stopped (an abort, Ctrl-C):
    planning ends after the batch it has just committed instead of ranking everyone."""


def merge_reports(total: SendReport, run: SendReport) -> SendReport:
    """``total`` with ``run`` added: counts summed, errors and recipients appended, and what
    the last run saw at its end (others, abort, deferral) taken from ``run``."""
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


def handled(report: SendReport) -> int:
    """How many deliveries a report dealt with, whatever their outcome (what ``limit``
    and the delivery progress count)."""
    return (report.sent + report.retried + report.failed + report.suppressed + report.skipped
            + report.unknown)


async def plan_and_deliver(planner: Planner, delivery: Delivery, *, now: datetime,
                           only: str | None = None, limit: int | None = None,
                           on_progress: Progress | None = None,
                           on_sent: Progress | None = None,
                           poll: float = 0.5) -> tuple[PlanReport, SendReport]:
    """Plan (as ``Planner.plan(now=now, only=only)``) while delivering what is planned.

    ``limit``: handle at most this many deliveries over all the runs (None: no limit).
    ``on_progress(done, total)`` hears planning's progress (from the planning thread);
    ``on_sent(done, total)`` hears delivery's: deliveries handled so far, and those plus
    what is due at the start of the current run (so ``total`` grows as planning adds rows).
    ``poll``: seconds the delivery side waits for more rows when nothing is due. Returns
    (plan report, the delivery runs' merged report); stops delivering at the first run
    that stops early (the hourly cap) or when ``limit`` is reached. Raises what planning
    raises (StoreError), after delivery has stopped; raises SendAborted/SendMisconfigured
    as ``Delivery.deliver_async`` does, with ``exc.report`` covering every run, after
    planning has stopped at its next batch (the rows it planned stay for the next send).
    """
    planned = threading.Event()  # set by each planning batch, cleared when delivery looks
    stop = threading.Event()  # set when delivery ends badly: planning stops at its next batch

    def progress(done: int, total: int) -> None:
        if stop.is_set():
            raise _Stop
        if done:  # the first call (done=0) planned nothing yet
            planned.set()
        if on_progress:
            on_progress(done, total)

    planning = asyncio.ensure_future(asyncio.to_thread(
        planner.plan, now=now, only=only, on_progress=progress))
    sent = SendReport()
    try:
        while True:
            finished = planning.done()
            planned.clear()
            before = handled(sent)
            left = None if limit is None else limit - before
            if left is not None and left <= 0:
                break
            # Only the run after planning ended waits for retries: each run has its own
            # window (DIGEST_SMTP__RETRY_WINDOW_SECONDS), and a wait while planning goes on
            # made one send wait twice as long for a reply that kept failing.
            run = await delivery.deliver_async(
                only=only, limit=left, wait_for_retries=finished,
                on_progress=await _sent_hook(delivery, on_sent, only, before, left))
            sent = merge_reports(sent, run)
            if run.aborted or run.deferred or finished:
                break
            while not planned.is_set() and not planning.done():
                await asyncio.wait([planning], timeout=poll)
    except BaseException as exc:
        stop.set()
        if isinstance(exc, SendAborted):
            partial: SendReport | None = getattr(exc, "report", None)
            if partial is not None:
                exc.report = merge_reports(sent, partial)  # type: ignore[attr-defined]
            # Delivery's failure is the one to tell; planning's own (the same lost
            # database, or our _Stop) would only repeat it.
            with contextlib.suppress(Exception):
                await planning
        raise
    return await planning, sent


async def _sent_hook(delivery: Delivery, on_sent: Progress | None, only: str | None,
                     before: int, left: int | None) -> Callable[[int], None] | None:
    """The delivery run's ``on_progress(n)`` as ``on_sent(before + n, total)`` (None when
    nobody listens). One count of the due rows per run (claims.count_due, along the
    partial indexes of 0014_scale)."""
    if on_sent is None:
        return None
    due = await asyncio.to_thread(delivery.count_due, only=only)
    total = before + (due if left is None else min(due, left))
    on_sent(before, total)
    return lambda n: on_sent(before + n, max(total, before + n))

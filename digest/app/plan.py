"""Use case: plan editions — rank recent papers for each due subscriber and write one ledger
row per (edition, subscriber) with the picks frozen in it.

Delivery renders from that row, so a retry or a crash-restart sends the same email; the
row is unique, so a rerun, a crash or a second worker never plans (or sends) it twice.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from digest.app.rankers import Rankers
from digest.editions import DEFAULT_TOO_LATE, outside_window, select_due, window_start
from digest.errors import StoreError
from digest.models import EditionInfo, Ranking, Schedule, Subscriber
from digest.store import Engine, history, ledger
from digest.store.plan_locks import batch_lock
from digest.store.schedules import history_paper_ids, list_schedules
from digest.store.subscribers import subscribers_by_id

# Subscribers ranked, then written to the ledger in one transaction, at a time: one read of
# what they were sent, one insert, one progress tick per batch (small enough that delivery,
# overlapped with planning, starts early).
PLAN_BATCH = 200
PER_SUBSCRIBER_KEPT = 200  # lines of PlanReport.per_subscriber
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class PlanArgs:
    """What one planning pass was asked (picklable: helper processes get the same)."""

    now: datetime
    only: str | None
    scheduled: bool
    too_late: timedelta
    first_at_once: bool


class HelperRun(Protocol):
    """Planning helpers under way (other processes planning the same pass)."""

    def join(self) -> None:
        """Wait until every helper has ended (however it ended)."""
        ...

    def stop(self) -> None:
        """End every helper now (this pass failed or was interrupted)."""
        ...


# Starts helpers for a pass over ``due`` subscribers, or None when not worth it.
StartHelpers = Callable[[PlanArgs, int], HelperRun | None]


@dataclass(slots=True)
class PlanReport:
    """What one planning pass did, in counts and one line per subscriber."""

    planned: int = 0
    already: int = 0  # this period's edition is already in the ledger
    waiting: int = 0  # scheduled: not due yet, or this period already handled
    skipped_late: int = 0  # scheduled: due too long ago, recorded as skipped
    nothing_new: int = 0  # no paper cleared the relevance floor
    skipped_quiet: int = 0
    # What happened to each subscriber, for the first PER_SUBSCRIBER_KEPT only (``note``):
    # a million-reader pass keeps a bounded report, and a table shows the first ones.
    per_subscriber: dict[str, str] = field(default_factory=dict)
    unlisted: bool = False  # some subscribers' lines were not kept
    elsewhere: int = 0  # in a batch another worker was planning (PostgreSQL)
    pool: int = 0  # candidate papers ranked against
    left: int = 0  # unsubscribed or paused between the pass's start and their batch
    pool_total: int = 0  # candidates before DIGEST_RANK_POOL_MAX cut the pool

    def note(self, email: str, what: str) -> None:
        """Say what happened to ``email`` (a later note replaces an earlier one); kept for the
        first PER_SUBSCRIBER_KEPT subscribers, ``unlisted`` set for the rest."""
        if email in self.per_subscriber or len(self.per_subscriber) < PER_SUBSCRIBER_KEPT:
            self.per_subscriber[email] = what
        else:
            self.unlisted = True


def frozen_picks(ranking: Ranking) -> list[dict[str, Any]]:
    """The picks as the ledger row keeps them: id, score (6 decimals), reasons; best first."""
    return [{"id": p.paper.id, "score": round(p.score, 6), "reasons": list(p.reasons)}
            for p in ranking.picks]


@dataclass(frozen=True, slots=True)
class Planner:
    """Plans editions over the store with the given rankers."""

    engine: Engine
    rankers: Rankers
    helpers: StartHelpers | None = None  # other processes that split the batches with this one

    def plan(self, *, now: datetime, only: str | None = None, scheduled: bool = False,
             too_late: timedelta = DEFAULT_TOO_LATE, first_at_once: bool = True,
             on_progress: Progress | None = None) -> PlanReport:
        """Put editions in the ledger for active subscribers (or just ``only``) who lack them.

        ``scheduled=False`` (``digest run --once``, ``digest send``): this calendar period's
        edition for everyone not yet served, whatever the hour. ``scheduled=True`` (the
        service): only editions whose local delivery time has passed (see
        ``editions.select_due``). Each edition covers the papers first seen since the
        subscriber's last delivered one: new work only, the most recent ``pool_max`` (see
        ``Rankers.pool``). Subscribers are ranked and written ``PLAN_BATCH`` at a time, in
        id order; on PostgreSQL a batch another worker is planning is left to it
        (``store.plan_locks``). ``on_progress(done, total)`` hears after each batch
        (``total``: subscribers due; first called with ``done=0``). With ``helpers``, other
        processes plan the same pass and take batches too (by the same locks); once they end,
        the pass's ledger rows are read once and only the batches still missing a row are
        planned again, so none is left unplanned by a helper that failed. Who is due is
        decided from everyone's schedule; profiles are read batch by batch, by the process
        that ranks the batch, as they are then (a reader who left meanwhile is counted in
        ``left``, not planned). Raises StoreError when the store fails.
        """
        report = PlanReport()
        schedules = [s for s in list_schedules(self.engine, status="active")
                     if s.frequency != "off" and (only is None or s.email == only)]
        due = select_due(
            schedules, now, scheduled=scheduled, too_late=too_late,
            first_at_once=first_at_once,
            last=history.last_editions(self.engine) if scheduled else {},
            joined=history.active_since(self.engine) if scheduled else {})
        report.waiting = due.waiting
        for sub, edition, reason in due.skip:
            self._record_skip(sub, edition, reason, now, report)
        todo = self._editions(due.send, now)
        if todo:
            try:
                self._plan_pass(todo, now, report, on_progress,
                                PlanArgs(now, only, scheduled, too_late, first_at_once))
            finally:
                gc.unfreeze()  # what _plan_batches froze is the collector's again
        return report

    def _plan_pass(self, todo: list[tuple[Schedule, int]], now: datetime, report: PlanReport,
                   on_progress: Progress | None, args: PlanArgs) -> None:
        helpers = self.helpers(args, len(todo)) if self.helpers else None
        try:
            held = self._plan_batches(todo, now, report, on_progress)
        except BaseException:
            if helpers is not None:
                helpers.stop()
            raise
        if helpers is not None:
            helpers.join()
        left = self._unfinished(held) if helpers is not None and held else []
        if left:
            self._plan_batches(left, now, report, None, again=todo)

    def _unfinished(self, held: list[list[tuple[Schedule, int]]]) -> list[tuple[Schedule, int]]:
        """The held batches someone in which still has no ledger row, whole and in order (so
        they are cut into the same batches again), from one read of the ledger: a second
        look at every held batch, a lock and a query each, was 8.5 s of a 61 s pass of
        100,000 readers on PostgreSQL (bench/edition.py), nearly all for batches a helper had
        planned."""
        have = ledger.planned_among(self.engine, {(e, s.id) for chunk in held for s, e in chunk})
        return [item for chunk in held if any((e, s.id) not in have for s, e in chunk)
                for item in chunk]

    def _record_skip(self, sub: Schedule, edition: EditionInfo, reason: str, now: datetime,
                     report: PlanReport) -> None:
        edition_id = ledger.ensure_edition(self.engine, edition, now=now)
        if ledger.add_delivery(self.engine, edition_id=edition_id, subscriber_id=sub.id,
                               picks=[], quiet=False, now=now, state="skipped", note=reason):
            report.skipped_late += 1
            report.note(sub.email, reason)

    def _editions(self, todo: list[tuple[Schedule, EditionInfo]],
                  now: datetime) -> list[tuple[Schedule, int]]:
        """(subscriber, edition id) in subscriber id order: every worker cuts the same batches."""
        ids: dict[str, int] = {}
        out = []
        for sub, edition in sorted(todo, key=lambda item: item[0].id):
            if edition.key not in ids:
                ids[edition.key] = ledger.ensure_edition(self.engine, edition, now=now)
            out.append((sub, ids[edition.key]))
        return out

    def _fresh(self, chunk: list[tuple[Schedule, int]],
               report: PlanReport) -> list[tuple[Schedule, int]]:
        have = ledger.existing_deliveries(self.engine, [(e, s.id) for s, e in chunk])
        for sub, edition_id in chunk:
            if (edition_id, sub.id) in have:
                report.already += 1
                report.note(sub.email, "already planned")
        return [(s, e) for s, e in chunk if (e, s.id) not in have]

    def _plan_batches(self, todo: list[tuple[Schedule, int]], now: datetime,
                      report: PlanReport, on_progress: Progress | None,
                      again: list[tuple[Schedule, int]] | None = None,
                      ) -> list[list[tuple[Schedule, int]]]:
        """Rank and write ``todo`` batch by batch; returns the batches another worker
        held. ``again`` (the whole pass's list): a second look at such
        batches once the helpers ended; what they planned stays counted as elsewhere, the
        rest is planned here, against the same candidate pool as the first look."""
        delivered = history.last_delivered_at(self.engine)
        starts = {sub.id: window_start(delivered.get(sub.id), now) for sub, _ in again or todo}
        built: list[Any] = []  # [pool, ranker], at the first batch with someone to rank
        windows: dict[tuple[datetime, bool], set[str]] = {}  # most readers share one window
        held: list[list[tuple[Schedule, int]]] = []
        written, check_at = 0, ledger.STATISTICS_FROM  # ledger rows added here; next look
        if on_progress:
            on_progress(0, len(todo))
        for start in range(0, len(todo), PLAN_BATCH):
            # What lives now (readers, the pool, its ranker and caches) stays to the end of
            # the pass: out of the cyclic collector's full passes, which scanned it all again
            # and again (1.9 s of 22 s CPU planning 20,000 bench/edition.py readers in one
            # process; 0.55 s frozen). Unfrozen when the pass ends (plan).
            gc.freeze()
            chunk = todo[start:start + PLAN_BATCH]
            name = f"{chunk[0][1]}:{chunk[0][0].id}:{chunk[-1][0].id}"
            with batch_lock(self.engine, name) as mine:
                if again is not None:
                    fresh = self._fresh(chunk, PlanReport()) if mine else []
                    report.elsewhere -= len(fresh)
                else:
                    fresh = self._fresh(chunk, report) if mine else []
                if not mine and again is None:
                    report.elsewhere += len(chunk)
                    held.append(chunk)
                    for sub, _ in chunk:
                        report.note(sub.email, "planned by another worker")
                if fresh and not built:
                    candidates = self.rankers.pool(min(starts.values()))
                    report.pool, report.pool_total = len(candidates.papers), candidates.total
                    built += [candidates.papers, self.rankers.over(
                        candidates.papers, history=history_paper_ids(self.engine))
                        if candidates.papers else None]
                ready = self._current(fresh, report)
                if ready:
                    pool, ranker = built
                    batch = []
                    for reader, _ in ready:
                        key = (starts[reader.id], reader.id in delivered)
                        if key not in windows:
                            windows[key] = outside_window(pool, key[0], had_edition=key[1])
                        batch.append((reader, windows[key]))
                    rankings = (self.rankers.rank_many(ranker, batch, now=now) if ranker
                                else [Ranking(quiet=True)] * len(ready))
                    written += self._write(ready, rankings, now, report)
                    if written >= check_at:  # as the rows double: a few looks a pass, not 500
                        check_at = 2 * written  # (a failing database is met by the next batch)
                        with contextlib.suppress(StoreError):
                            ledger.refresh_statistics(self.engine, written=written)
            if on_progress:
                on_progress(start + len(chunk), len(todo))
        return held

    def _current(self, fresh: list[tuple[Schedule, int]],
                 report: PlanReport) -> list[tuple[Subscriber, int]]:
        """The batch's subscribers as they are now, profiles and feedback read in one go;
        those who unsubscribed or paused since the pass began are left out (``left``)."""
        now_rows = (subscribers_by_id(self.engine, [s.id for s, _ in fresh], feedback=True)
                    if fresh else {})
        ready = []
        for sched, edition_id in fresh:
            sub = now_rows.get(sched.id)
            if sub is None or sub.status != "active" or sub.frequency == "off":
                report.left += 1
                report.note(sched.email, "no longer subscribed")
            else:
                ready.append((sub, edition_id))
        return ready

    def _write(self, chunk: list[tuple[Subscriber, int]], rankings: list[Ranking],
               now: datetime, report: PlanReport) -> int:
        """Insert the batch's ledger rows; returns how many were added here."""
        rows, subs = [], []
        for (sub, edition_id), ranking in zip(chunk, rankings, strict=True):
            if not ranking.picks:
                report.nothing_new += 1
                report.note(sub.email, "nothing new")
                continue
            skip = ranking.quiet and sub.quiet_week == "skip"
            rows.append(ledger.NewDelivery(
                edition_id=edition_id, subscriber_id=sub.id, picks=frozen_picks(ranking),
                quiet=ranking.quiet, state="skipped" if skip else "pending",
                note="quiet week, subscriber skips those" if skip else None))
            subs.append((sub, ranking, skip))
        outcomes = ledger.add_deliveries(self.engine, rows, now=now)
        for (sub, ranking, skip), row, added in zip(subs, rows, outcomes, strict=True):
            if not added:
                report.already += 1  # another node planned it between our check and insert
                report.note(sub.email, "already planned")
                continue
            report.skipped_quiet += skip
            report.planned += not skip
            report.note(sub.email, f"{len(row.picks)} papers"
                        + (" (quiet)" if ranking.quiet else ""))
        return sum(outcomes)

"""Use case: plan editions — rank recent papers for each due subscriber and write one ledger
row per (edition, subscriber) with the picks frozen in it.

Delivery renders from that row, so a retry or a crash-restart sends the same email; the
row is unique, so a rerun, a crash or a second worker never plans (or sends) it twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from digest.app.rankers import Rankers
from digest.editions import DEFAULT_TOO_LATE, outside_window, select_due, window_start
from digest.models import EditionInfo, Ranking, Subscriber
from digest.store import Engine, history, ledger
from digest.store.subscribers import list_subscribers


@dataclass(slots=True)
class PlanReport:
    """What one planning pass did, in counts and one line per subscriber."""

    planned: int = 0
    already: int = 0  # this period's edition is already in the ledger
    waiting: int = 0  # scheduled: not due yet, or this period already handled
    skipped_late: int = 0  # scheduled: due too long ago, recorded as skipped
    nothing_new: int = 0  # no paper cleared the relevance floor
    skipped_quiet: int = 0
    per_subscriber: dict[str, str] = field(default_factory=dict)
    pool: int = 0  # candidate papers ranked against
    pool_total: int = 0  # candidates before DIGEST_RANK_POOL_MAX cut the pool


def frozen_picks(ranking: Ranking) -> list[dict[str, Any]]:
    """The picks as the ledger row keeps them: id, score (6 decimals), reasons; best first."""
    return [{"id": p.paper.id, "score": round(p.score, 6), "reasons": list(p.reasons)}
            for p in ranking.picks]


@dataclass(frozen=True, slots=True)
class Planner:
    """Plans editions over the store with the given rankers."""

    engine: Engine
    rankers: Rankers

    def plan(self, *, now: datetime, only: str | None = None, scheduled: bool = False,
             too_late: timedelta = DEFAULT_TOO_LATE, first_at_once: bool = True,
             on_progress: Callable[[int, int], None] | None = None) -> PlanReport:
        """Put editions in the ledger for active subscribers (or just ``only``) who lack them.

        ``scheduled=False`` (``digest run --once``, ``digest send``): this calendar period's
        edition for everyone not yet served, whatever the hour. ``scheduled=True`` (the
        service): only editions whose local delivery time has passed (see
        ``editions.select_due``). Each edition covers the papers first seen since the
        subscriber's last delivered one: new work only, the most recent ``pool_max`` (see
        ``Rankers.pool``). ``on_progress(done, total)`` is called after each subscriber is
        ranked (counts of subscribers). Raises StoreError when the store fails.
        """
        report = PlanReport()
        subscribers = [s for s in list_subscribers(self.engine, status="active")
                       if s.frequency != "off" and (only is None or s.email == only)]
        due = select_due(
            subscribers, now, scheduled=scheduled, too_late=too_late,
            first_at_once=first_at_once,
            last=history.last_editions(self.engine) if scheduled else {},
            joined=history.active_since(self.engine) if scheduled else {})
        report.waiting = due.waiting
        for sub, edition, reason in due.skip:
            self._record_skip(sub, edition, reason, now, report)
        fresh = self._unplanned(due.send, now, report)
        if fresh:
            self._rank_into_ledger(fresh, now, report, on_progress)
        return report

    def _record_skip(self, sub: Subscriber, edition: EditionInfo, reason: str, now: datetime,
                     report: PlanReport) -> None:
        edition_id = ledger.ensure_edition(self.engine, edition, now=now)
        if ledger.add_delivery(self.engine, edition_id=edition_id, subscriber_id=sub.id,
                               picks=[], quiet=False, now=now, state="skipped", note=reason):
            report.skipped_late += 1
            report.per_subscriber[sub.email] = reason

    def _unplanned(self, todo: list[tuple[Subscriber, EditionInfo]], now: datetime,
                   report: PlanReport) -> list[tuple[Subscriber, int]]:
        fresh: list[tuple[Subscriber, int]] = []
        for sub, edition in todo:
            edition_id = ledger.ensure_edition(self.engine, edition, now=now)
            if ledger.has_delivery(self.engine, edition_id=edition_id, subscriber_id=sub.id):
                report.already += 1
                report.per_subscriber[sub.email] = "already planned"
            else:
                fresh.append((sub, edition_id))
        return fresh

    def _rank_into_ledger(self, fresh: list[tuple[Subscriber, int]], now: datetime,
                          report: PlanReport,
                          on_progress: Callable[[int, int], None] | None = None) -> None:
        delivered = history.last_delivered_at(self.engine)
        starts = {sub.id: window_start(delivered.get(sub.id), now) for sub, _ in fresh}
        candidates = self.rankers.pool(min(starts.values()))
        pool = candidates.papers
        report.pool, report.pool_total = len(pool), candidates.total
        ranker = self.rankers.over(pool, [sub for sub, _ in fresh]) if pool else None
        for done, (sub, edition_id) in enumerate(fresh, 1):
            older = outside_window(pool, starts[sub.id], had_edition=sub.id in delivered)
            ranking = (self.rankers.rank(ranker, sub, now=now, exclude=older) if ranker
                       else Ranking(quiet=True))
            if on_progress is not None:
                on_progress(done, len(fresh))
            if not ranking.picks:
                report.nothing_new += 1
                report.per_subscriber[sub.email] = "nothing new"
                continue
            skip = ranking.quiet and sub.quiet_week == "skip"
            picks = frozen_picks(ranking)
            if not ledger.add_delivery(self.engine, edition_id=edition_id, subscriber_id=sub.id,
                                       picks=picks, quiet=ranking.quiet, now=now,
                                       state="skipped" if skip else "pending",
                                       note="quiet week, subscriber skips those" if skip else None):
                report.already += 1  # another node planned it between our check and insert
                report.per_subscriber[sub.email] = "already planned"
                continue
            report.skipped_quiet += skip
            report.planned += not skip
            report.per_subscriber[sub.email] = (f"{len(picks)} papers"
                                                + (" (quiet)" if ranking.quiet else ""))

"""Editions: when a subscriber's issue is due, in their local time, and which period it is.

Pure functions of (subscriber, now, what they last got): the service asks ``is_due`` every
few minutes and the ledger's unique (edition, subscriber) row settles the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Generic, Literal, Protocol, TypeVar

from digest.models import EditionInfo, Frequency, Paper, SubscriberStatus
from digest.zones import load_zone

DEFAULT_TOO_LATE = timedelta(hours=24)
FIRST_EDITION_LOOKBACK = timedelta(days=30)


class Scheduled(Protocol):
    """What deciding an edition reads of a subscriber (a ``Subscriber`` or a ``Schedule``)."""

    @property
    def id(self) -> int: ...
    @property
    def status(self) -> SubscriberStatus: ...
    @property
    def frequency(self) -> Frequency: ...
    @property
    def weekday(self) -> int: ...
    @property
    def hour(self) -> int: ...
    @property
    def timezone(self) -> str: ...


S = TypeVar("S", bound=Scheduled)


@dataclass(frozen=True, slots=True)
class LastEdition:
    """The newest edition a subscriber has a ledger row for, whatever its state."""

    key: str
    planned_at: datetime  # when that row was written
    delivered: bool  # sent or on its way (not skipped, failed or suppressed)


@dataclass(frozen=True, slots=True)
class Due:
    """The verdict of ``is_due``: ``send`` now, ``skip`` (record it), or ``wait``."""

    action: Literal["send", "skip", "wait"]
    edition: EditionInfo | None = None
    due_at: datetime | None = None
    reason: str = ""


def _local_start(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def edition_for(subscriber: Scheduled, now: datetime) -> EditionInfo:
    """The calendar edition containing ``now``: the subscriber's local ISO week or day.

    The key is shared by everyone in the same local period (``weekly:2026-W48``), and the
    ledger's unique (edition, subscriber) row makes a second send of it impossible.
    """
    tz = load_zone(subscriber.timezone)
    local = now.astimezone(tz)
    if subscriber.frequency == "daily":
        day = local.date()
        return EditionInfo(key=f"daily:{day.isoformat()}", frequency="daily",
                           period_start=_local_start(day, tz),
                           period_end=_local_start(day + timedelta(days=1), tz))
    year, week, weekday = local.isocalendar()
    monday = local.date() - timedelta(days=weekday - 1)
    return EditionInfo(key=f"weekly:{year}-W{week:02d}", frequency="weekly",
                       period_start=_local_start(monday, tz),
                       period_end=_local_start(monday + timedelta(days=7), tz))


def local_dates(edition: EditionInfo) -> tuple[date, date] | None:
    """The reader's first and last local calendar day of an edition (inclusive), read from
    its key: ``weekly:2026-W49`` is Monday 30 Nov to Sunday 6 Dec 2026 (ISO 8601 weeks),
    ``daily:2026-11-30`` is that day. None for a key of another shape.

    The key, not ``period_start``/``period_end``: those are UTC instants of one zone's
    midnights, and the edition row is shared by readers in every zone.
    """
    kind, _, rest = edition.key.partition(":")
    try:
        if kind == "daily":
            day = date.fromisoformat(rest)
            return day, day
        if kind == "weekly":
            year, week = rest.split("-W")
            monday = date.fromisocalendar(int(year), int(week), 1)
            return monday, monday + timedelta(days=6)
    except ValueError:
        return None
    return None


def _at_hour(day: date, hour: int, tz: tzinfo) -> datetime:
    # Wall-clock arithmetic in the subscriber's zone, then to UTC: 08:00 stays 08:00 across
    # a DST change. An hour that does not exist that day (spring forward) lands just after
    # the gap, one that happens twice (fall back) is the first of the two.
    return datetime.combine(day, time(hour), tzinfo=tz).astimezone(UTC)


def last_due(subscriber: Scheduled, now: datetime) -> datetime:
    """The most recent scheduled delivery time at or before ``now`` (UTC)."""
    tz = load_zone(subscriber.timezone)
    local = now.astimezone(tz)
    step = 1 if subscriber.frequency == "daily" else 7
    back = 0 if step == 1 else (local.weekday() - subscriber.weekday) % 7
    day = local.date() - timedelta(days=back)
    due = _at_hour(day, subscriber.hour, tz)
    if due > now:
        due = _at_hour(day - timedelta(days=step), subscriber.hour, tz)
    return due


def next_due(subscriber: Scheduled, now: datetime) -> datetime:
    """The first scheduled delivery time strictly after ``now`` (UTC)."""
    tz = load_zone(subscriber.timezone)
    step = 1 if subscriber.frequency == "daily" else 7
    day = last_due(subscriber, now).astimezone(tz).date() + timedelta(days=step)
    return _at_hour(day, subscriber.hour, tz)


def is_due(subscriber: Scheduled, now: datetime, last_edition: LastEdition | None, *,
           too_late: timedelta = DEFAULT_TOO_LATE, active_since: datetime | None = None,
           first_at_once: bool = True) -> Due:
    """Should this subscriber's edition go out now?

    The edition is the one whose delivery time passed most recently. If the subscriber
    already has a row for it, wait. If it is more than ``too_late`` overdue (the service was
    down), skip it with a record rather than send stale news. Someone who joined after that
    delivery time was owed nothing then: with ``first_at_once`` they get their first edition
    now (a welcome, so a new reader sees it work), else they wait for their next hour.
    """
    if subscriber.frequency == "off" or subscriber.status != "active":
        return Due("wait", reason=f"frequency {subscriber.frequency}, status {subscriber.status}")
    due = last_due(subscriber, now)
    edition = edition_for(subscriber, due)
    if last_edition is not None and last_edition.key == edition.key:
        return Due("wait", edition, due, "this period's edition is already in the ledger")
    if active_since is not None and active_since > due:
        if first_at_once and last_edition is None:
            return Due("send", edition, due, "first edition, sent on joining")
        return Due("wait", edition, due, "joined after this period's delivery time")
    late = now - due
    if late > too_late:
        return Due("skip", edition, due,
                   f"too late: due {due:%Y-%m-%d %H:%M} UTC, {_hours(late)} h overdue "
                   f"(limit {_hours(too_late)} h)")
    return Due("send", edition, due, f"due {due:%Y-%m-%d %H:%M} UTC")


def window_start(last_delivered_at: datetime | None, now: datetime) -> datetime:
    """Papers first seen at or after this go into the edition: everything since the last
    edition that actually went out (so a skipped or late one loses nothing)."""
    if last_delivered_at is None:
        return now - FIRST_EDITION_LOOKBACK
    return min(last_delivered_at, now)


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:.1f}".rstrip("0").rstrip(".")


@dataclass(frozen=True, slots=True)
class Selection(Generic[S]):
    """Who gets which edition now: ``send`` to plan, ``skip`` to record as skipped (with
    the reason), and how many are ``waiting`` for their delivery time."""

    send: list[tuple[S, EditionInfo]]
    skip: list[tuple[S, EditionInfo, str]]
    waiting: int = 0


def select_due(subscribers: Sequence[S], now: datetime, *, scheduled: bool,
               last: Mapping[int, LastEdition], joined: Mapping[int, datetime],
               too_late: timedelta = DEFAULT_TOO_LATE, first_at_once: bool = True,
               ) -> Selection[S]:
    """Which of these subscribers' editions are due at ``now``.

    ``scheduled=False`` (an operator's ``digest send``): everyone's current calendar edition,
    whatever the hour. ``scheduled=True`` (the service): ``is_due`` decides per subscriber
    from their ``last`` edition and when they ``joined`` (both keyed by subscriber id).
    """
    if not scheduled:
        return Selection(send=[(sub, edition_for(sub, now)) for sub in subscribers], skip=[])
    send: list[tuple[S, EditionInfo]] = []
    skip: list[tuple[S, EditionInfo, str]] = []
    waiting = 0
    for sub in subscribers:
        due = is_due(sub, now, last.get(sub.id), too_late=too_late,
                     active_since=joined.get(sub.id), first_at_once=first_at_once)
        if due.action == "wait" or due.edition is None:
            waiting += 1
        elif due.action == "skip":
            skip.append((sub, due.edition, due.reason))
        else:
            send.append((sub, due.edition))
    return Selection(send=send, skip=skip, waiting=waiting)


def outside_window(papers: Iterable[Paper], start: datetime, *, had_edition: bool) -> set[str]:
    """Ids of papers first seen before this edition's window opened at ``start``. After a
    previous edition, papers seen at its very instant were its candidates, so they are out
    too."""
    return {p.id for p in papers
            if p.first_seen is not None
            and (p.first_seen < start or (had_edition and p.first_seen == start))}

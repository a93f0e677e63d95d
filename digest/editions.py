"""Editions: which period's issue a subscriber is due, computed in their local time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from digest.models import EditionInfo, Subscriber


def edition_for(subscriber: Subscriber, now: datetime) -> EditionInfo:
    """The edition covering ``now`` for this subscriber: their local ISO week or day.

    The key is shared by everyone in the same local period (``weekly:2026-W48``), and the
    ledger's unique (edition, subscriber) row makes a second send of it impossible.
    """
    local = now.astimezone(ZoneInfo(subscriber.timezone))
    if subscriber.frequency == "daily":
        start = datetime.combine(local.date(), datetime.min.time(), tzinfo=UTC)
        return EditionInfo(key=f"daily:{local.date().isoformat()}", frequency="daily",
                           period_start=start, period_end=start + timedelta(days=1))
    year, week, weekday = local.isocalendar()
    monday = local.date() - timedelta(days=weekday - 1)
    start = datetime.combine(monday, datetime.min.time(), tzinfo=UTC)
    return EditionInfo(key=f"weekly:{year}-W{week:02d}", frequency="weekly",
                       period_start=start, period_end=start + timedelta(days=7))

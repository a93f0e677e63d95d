"""Editions in local time: due times across time zones and DST, lateness, edition windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from digest.editions import (
    FIRST_EDITION_LOOKBACK,
    LastEdition,
    edition_for,
    is_due,
    last_due,
    next_due,
    window_start,
)
from digest.models import Profile, Subscriber


def sub(**kw: object) -> Subscriber:
    return Subscriber(id=1, email="a@example.org", profile=Profile(interests="x"), **kw)  # type: ignore[arg-type]


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_tokyo_monday_0800_is_due_at_2300_utc_sunday() -> None:
    tokyo = sub(timezone="Asia/Tokyo", weekday=0, hour=8, frequency="weekly")
    # 2026-11-29 is a Sunday; 23:00 UTC is Monday 08:00 in Tokyo (UTC+9).
    assert next_due(tokyo, utc(2026, 11, 29, 12)) == utc(2026, 11, 29, 23)
    assert last_due(tokyo, utc(2026, 11, 29, 22, 59)) == utc(2026, 11, 22, 23)
    verdict = is_due(tokyo, utc(2026, 11, 29, 23, 0), None)
    assert verdict.action == "send"
    assert verdict.due_at == utc(2026, 11, 29, 23)
    assert verdict.edition is not None and verdict.edition.key == "weekly:2026-W49"


def test_tokyo_not_due_one_minute_before() -> None:
    tokyo = sub(timezone="Asia/Tokyo", weekday=0, hour=8)
    seen = LastEdition(key="weekly:2026-W48", planned_at=utc(2026, 11, 22, 23), delivered=True)
    assert is_due(tokyo, utc(2026, 11, 29, 22, 59), seen).action == "wait"
    assert is_due(tokyo, utc(2026, 11, 29, 23, 1), seen).action == "send"


def test_new_york_gets_0800_local_on_both_sides_of_dst_end() -> None:
    ny = sub(timezone="America/New_York", weekday=0, hour=8)
    # DST ends Sunday 2026-11-01: Monday Oct 26 is EDT (UTC-4), Monday Nov 2 is EST (UTC-5).
    assert next_due(ny, utc(2026, 10, 25)) == utc(2026, 10, 26, 12)
    assert next_due(ny, utc(2026, 10, 27)) == utc(2026, 11, 2, 13)
    first = is_due(ny, utc(2026, 10, 26, 12), None)
    assert first.action == "send"
    seen = LastEdition(key=first.edition.key, planned_at=utc(2026, 10, 26, 12), delivered=True)  # type: ignore[union-attr]
    # 12:00 UTC on Nov 2 is only 07:00 local: not yet.
    assert is_due(ny, utc(2026, 11, 2, 12), seen).action == "wait"
    assert is_due(ny, utc(2026, 11, 2, 13), seen).action == "send"


def test_new_york_across_dst_start_daily() -> None:
    ny = sub(timezone="America/New_York", frequency="daily", hour=8)
    # DST starts Sunday 2026-03-08: Saturday 08:00 is 13:00 UTC, Sunday 08:00 is 12:00 UTC.
    assert next_due(ny, utc(2026, 3, 7, 0)) == utc(2026, 3, 7, 13)
    assert next_due(ny, utc(2026, 3, 7, 13)) == utc(2026, 3, 8, 12)
    assert edition_for(ny, utc(2026, 3, 8, 12)).key == "daily:2026-03-08"


def test_down_over_due_time_sends_within_grace_and_skips_past_it() -> None:
    s = sub(timezone="Europe/Berlin", weekday=2, hour=9)  # Wednesday 09:00 = 08:00 UTC in winter
    due = utc(2026, 12, 2, 8)
    assert is_due(s, due + timedelta(hours=23, minutes=59), None).action == "send"
    late = is_due(s, due + timedelta(hours=24, minutes=1), None)
    assert late.action == "skip"
    assert "too late" in late.reason
    shorter = is_due(s, due + timedelta(hours=3), None, too_late=timedelta(hours=2))
    assert shorter.action == "skip"


def test_joined_after_the_due_time_gets_a_first_edition_or_waits_never_a_skip() -> None:
    s = sub(weekday=0, hour=8)
    now = utc(2026, 12, 3, 12)  # Thursday; Monday's edition is 3 days late
    assert is_due(s, now, None).action == "skip"
    assert is_due(s, now, None, active_since=utc(2026, 11, 30)).action == "skip"
    first = is_due(s, now, None, active_since=utc(2026, 12, 2))
    assert (first.action, first.edition.key) == ("send", "weekly:2026-W49")  # type: ignore[union-attr]
    assert is_due(s, now, None, active_since=utc(2026, 12, 2),
                  first_at_once=False).action == "wait"
    # Back after unsubscribing: nothing owed for the period they were away.
    seen = LastEdition(key="weekly:2026-W40", planned_at=utc(2026, 10, 1), delivered=True)
    assert is_due(s, now, seen, active_since=utc(2026, 12, 2)).action == "wait"


def test_the_same_period_is_never_due_twice() -> None:
    s = sub(frequency="daily", hour=6)
    first = is_due(s, utc(2026, 12, 1, 6, 5), None)
    seen = LastEdition(key=first.edition.key, planned_at=utc(2026, 12, 1, 6, 5), delivered=True)  # type: ignore[union-attr]
    assert is_due(s, utc(2026, 12, 1, 23, 59), seen).action == "wait"
    assert is_due(s, utc(2026, 12, 2, 6), seen).action == "send"


def test_off_and_inactive_subscribers_are_never_due() -> None:
    assert is_due(sub(frequency="off"), utc(2026, 12, 1), None).action == "wait"
    assert is_due(sub(status="pending"), utc(2026, 12, 1), None).action == "wait"


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "America/St_Johns", "Pacific/Chatham",
                                  "Australia/Lord_Howe", "America/Sao_Paulo"])
def test_last_due_is_never_after_now_and_next_due_is_after(zone: str) -> None:
    for frequency in ("daily", "weekly"):
        s = sub(timezone=zone, frequency=frequency, weekday=6, hour=2)
        now = utc(2026, 1, 1)
        while now < utc(2027, 1, 1):
            before, after = last_due(s, now), next_due(s, now)
            assert before <= now < after
            assert after - before <= timedelta(days=7 if frequency == "weekly" else 1, hours=2)
            now += timedelta(hours=13, minutes=17)


def test_edition_window_starts_at_the_last_delivered_edition() -> None:
    now = utc(2026, 12, 10)
    assert window_start(None, now) == now - FIRST_EDITION_LOOKBACK
    assert window_start(utc(2026, 11, 26), now) == utc(2026, 11, 26)


def test_calendar_edition_keys_are_local() -> None:
    tokyo = sub(timezone="Asia/Tokyo")
    info = edition_for(tokyo, utc(2026, 11, 29, 23, 30))  # Monday morning in Tokyo
    assert info.key == "weekly:2026-W49"
    assert info.period_start == utc(2026, 11, 29, 15)  # Monday 00:00 JST
    assert info.period_end == utc(2026, 12, 6, 15)

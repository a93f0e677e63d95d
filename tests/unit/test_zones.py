"""Time zones (issue 18): legacy names map to canonical zones, a typo gets the closest name,
an unloadable zone is UTC for that reader only, and edition labels are the reader's own
calendar days — seven of them for a week, today for a daily issue, across DST changes."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from digest.editions import edition_for, last_due, local_dates
from digest.models import Profile, Subscriber
from digest.profiles import ProfileError, validate_profile
from digest.render.context import period_label
from digest.zones import canonical_zone, check_zone, load_zone, suggest_zone


def sub(**kw: object) -> Subscriber:
    return Subscriber(id=1, email="a@example.org", profile=Profile(interests="x"), **kw)  # type: ignore[arg-type]


# Pairs from the IANA tz database's `backward` file (Link TARGET LINK-NAME lines).
@pytest.mark.parametrize(("legacy", "canonical"), [
    ("US/Eastern", "America/New_York"), ("US/Pacific", "America/Los_Angeles"),
    ("Asia/Calcutta", "Asia/Kolkata"), ("Europe/Kiev", "Europe/Kyiv"),
    ("Asia/Saigon", "Asia/Ho_Chi_Minh"), ("NZ", "Pacific/Auckland"), ("PRC", "Asia/Shanghai"),
])
def test_legacy_names_map_to_their_canonical_zone(legacy: str, canonical: str) -> None:
    assert canonical_zone(legacy) == canonical
    assert check_zone(f" {legacy} ") == canonical
    assert validate_profile({"email": "a@example.org", "interests": "x",
                             "timezone": legacy}).timezone == canonical


def test_utc_and_canonical_names_stay_as_written() -> None:
    for name in ("UTC", "Europe/Paris", "America/New_York"):
        assert canonical_zone(name) == name and check_zone(name) == name


def test_a_name_in_another_case_is_that_zone() -> None:
    assert check_zone("utc") == "UTC" and check_zone("europe/paris") == "Europe/Paris"
    assert check_zone("us/eastern") == "America/New_York"


@pytest.mark.parametrize(("typed", "closest"), [
    ("America/New_Yrok", "America/New_York"), ("Europe/Pari", "Europe/Paris"),
    ("Asia/Shangai", "Asia/Shanghai"), ("Auckland", "Pacific/Auckland"),
    ("America/Sao Paulo", "America/Sao_Paulo"),
])
def test_an_unknown_name_gets_the_closest_known_one(typed: str, closest: str) -> None:
    assert suggest_zone(typed) == closest
    with pytest.raises(ProfileError, match=f"did you mean '{closest}'"):
        validate_profile({"email": "a@example.org", "interests": "x", "timezone": typed})


def test_a_zone_that_cannot_load_is_utc_for_that_reader_with_a_warning(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="digest.zones"):
        assert load_zone("Mars/Olympus_Mons") is UTC
    assert "Mars/Olympus_Mons" in caplog.text and "UTC" in caplog.text
    edition = edition_for(sub(timezone="Mars/Olympus_Mons"), datetime(2026, 11, 30, 12, tzinfo=UTC))
    assert edition.key == "weekly:2026-W49"


# Hand-read from a calendar: Monday 30 Nov 2026 starts ISO week 49, which ends Sunday 6 Dec.
MONDAY_0800 = {  # 08:00 local on Monday 30 Nov 2026, in UTC
    "America/New_York": datetime(2026, 11, 30, 13, tzinfo=UTC),  # EST, UTC-5
    "Asia/Shanghai": datetime(2026, 11, 30, 0, tzinfo=UTC),  # CST, UTC+8
    "Pacific/Auckland": datetime(2026, 11, 29, 19, tzinfo=UTC),  # NZDT, UTC+13
}


@pytest.mark.parametrize("zone", MONDAY_0800)
def test_a_weekly_label_is_seven_local_days(zone: str) -> None:
    reader = sub(timezone=zone, frequency="weekly", weekday=0, hour=8)
    due = last_due(reader, MONDAY_0800[zone] + timedelta(minutes=5))
    assert period_label(edition_for(reader, due)) == "30 Nov \u2013 6 Dec 2026"


@pytest.mark.parametrize("zone", MONDAY_0800)
def test_a_daily_label_is_the_local_date(zone: str) -> None:
    reader = sub(timezone=zone, frequency="daily", hour=8)
    due = last_due(reader, MONDAY_0800[zone] + timedelta(minutes=5))
    assert period_label(edition_for(reader, due)) == "Mon 30 Nov 2026"


@pytest.mark.parametrize(("zone", "local_now", "weekly", "daily"), [
    # New York springs forward Sun 8 Mar 2026 and falls back Sun 1 Nov 2026.
    ("America/New_York", datetime(2026, 3, 8, 8, 5), "2\u20138 Mar 2026", "Sun 8 Mar 2026"),
    ("America/New_York", datetime(2026, 11, 1, 8, 5), "26 Oct \u2013 1 Nov 2026", "Sun 1 Nov 2026"),
    # Auckland falls back Sun 5 Apr 2026 and springs forward Sun 27 Sep 2026.
    ("Pacific/Auckland", datetime(2026, 4, 5, 8, 5), "30 Mar \u2013 5 Apr 2026", "Sun 5 Apr 2026"),
    ("Pacific/Auckland", datetime(2026, 9, 27, 8, 5), "21\u201327 Sep 2026", "Sun 27 Sep 2026"),
    ("Asia/Shanghai", datetime(2026, 1, 1, 8, 5), "29 Dec 2025 \u2013 4 Jan 2026", "Thu 1 Jan 2026"),
])
def test_labels_around_dst_changes(zone: str, local_now: datetime, weekly: str, daily: str) -> None:
    now = local_now.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
    week = sub(timezone=zone, frequency="weekly", weekday=local_now.weekday(), hour=8)
    day = sub(timezone=zone, frequency="daily", hour=8)
    assert period_label(edition_for(week, last_due(week, now))) == weekly
    assert period_label(edition_for(day, last_due(day, now))) == daily


@pytest.mark.parametrize("zone", [*MONDAY_0800, "Europe/London"])
def test_every_week_of_a_year_spans_seven_days_holding_the_delivery_day(zone: str) -> None:
    reader = sub(timezone=zone, frequency="weekly", weekday=0, hour=8)
    now = datetime(2026, 1, 5, 12, tzinfo=UTC)
    for _ in range(53):
        due = last_due(reader, now)
        days = local_dates(edition_for(reader, due))
        assert days is not None
        first, last = days
        assert (last - first).days == 6 and first.weekday() == 0
        assert first <= due.astimezone(ZoneInfo(zone)).date() <= last
        now += timedelta(days=7)


def test_keys_of_another_shape_have_no_local_dates() -> None:
    edition = edition_for(sub(), datetime(2026, 11, 30, tzinfo=UTC))
    assert local_dates(edition) == (date(2026, 11, 30), date(2026, 12, 6))
    odd = type(edition)(key="k", frequency="weekly", period_start=edition.period_start,
                        period_end=edition.period_end)
    assert local_dates(odd) is None

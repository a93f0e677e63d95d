"""What the subscribe and preferences pages add around their forms: the IANA time-zone
choices, this week's picks for some interests (rate-limited per reader) and the feed link."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime
from functools import cache
from typing import Any

from fastapi import Request

from digest.models import Subscriber

# The subscribe page's sample reader: a common interest, so the sample is never empty when
# the store has papers at all.
SAMPLE_INTERESTS = "large language models and reasoning"
CHECK_LIMIT = (10, 600)  # "check these interests" round-trips per reader per 10 minutes


@cache
def zone_choices() -> tuple[str, ...]:
    """Every IANA zone this Python knows (``zoneinfo.available_timezones()``), UTC first,
    then by name, without the aliases kept only for old systems."""
    legacy = ("Etc/", "SystemV/", "US/", "posix", "right/")
    names = sorted(z for z in zoneinfo.available_timezones()
                   if "/" in z and not z.startswith(legacy))
    return ("UTC", *names)


def zones_for(current: str) -> tuple[str, ...]:
    """The choices, with ``current`` among them even when it is a legacy alias."""
    choices = zone_choices()
    return choices if current in choices or not current else (current, *choices)


def sample_context(request: Request) -> dict[str, Any]:
    """The subscribe page's sample: this week's picks for ``SAMPLE_INTERESTS``."""
    from digest.app.reader import example_reader  # ranking's imports only once a page asks

    rt = request.app.state.rt
    picks = rt.reader.this_week_soon(example_reader(SAMPLE_INTERESTS), SAMPLE_INTERESTS,
                                     now=datetime.now(UTC), limit=3)
    return {"sample_interests": SAMPLE_INTERESTS, "sample": picks}


def preferences_context(request: Request, sub: Subscriber, interests: str, zone: str, *,
                        checking: bool = False) -> dict[str, Any]:
    """This week's picks for ``interests`` (the saved ones, or those typed when
    ``checking``, which counts against the reader's check limit, and waits for them; a plain
    page view does not, and shows them once ready), and the feed link."""
    rt = request.app.state.rt
    now = datetime.now(UTC)
    wait = 0
    if checking:
        limit, window = CHECK_LIMIT
        wait = rt.subscriptions.throttle(f"check:{sub.id}", limit=limit, window=window, now=now)
    busy = False
    if wait:
        picks: list[Any] | None = []
    elif checking:
        picks = rt.reader.this_week_or_busy(sub, interests, now=now, limit=5)
        busy = picks is None
    else:
        picks = rt.reader.this_week_soon(sub, interests, now=now, limit=5)
    return {"picks": picks, "check_wait": wait, "check_busy": busy,
            "checked": checking and not wait and not busy,
            "feed_url": rt.reader.feed_url(sub, now=now), "zones": zones_for(zone)}

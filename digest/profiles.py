"""The rules for a subscriber's profile fields, wherever they arrive from: a profile file,
the web forms, the CLI or a CSV import — one set of rules for every entry point.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from digest.addresses import normalize_address
from digest.errors import AddressError, DigestError
from digest.models import SubscriberInput
from digest.text import clean_interests, names_something
from digest.zones import check_zone

IMPORT_COLUMNS = ("email", "interests", "frequency", "timezone")  # a CSV row, in this order
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
FREQUENCIES = ("daily", "weekly", "off")
MAX_INTERESTS = 2000


class ProfileError(DigestError):
    """A profile field is invalid; the message names the field."""


def _strings(value: Any, field: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ProfileError(f"{field}: expected a list of strings")
    return [v.strip() for v in value if v.strip()][:50]


def _weekday(value: Any) -> int:
    if isinstance(value, int) and 0 <= value <= 6:
        return value
    if isinstance(value, str) and value.strip().lower()[:3] in [d[:3] for d in WEEKDAYS]:
        return [d[:3] for d in WEEKDAYS].index(value.strip().lower()[:3])
    raise ProfileError(f"weekday: expected a day name like 'monday', got {value!r}")


def validate_profile(data: Mapping[str, Any]) -> SubscriberInput:
    """Check and normalize one profile mapping (file, form or CSV row)."""
    try:
        email = normalize_address(str(data.get("email", "")))
    except AddressError as exc:
        raise ProfileError(f"email: {exc}") from exc
    # Stored as text: escape sequences, markup and control characters from a paste go here.
    interests = " ".join(clean_interests(str(data.get("interests", ""))).split())
    if not names_something(interests):  # "???" or bare markup would rank nothing
        raise ProfileError("interests: required (a few words about what you read)")
    if len(interests) > MAX_INTERESTS:
        raise ProfileError(f"interests: at most {MAX_INTERESTS} characters")
    frequency = str(data.get("frequency", "weekly")).strip().lower()
    if frequency not in FREQUENCIES:
        raise ProfileError(f"frequency: one of {', '.join(FREQUENCIES)}, got {frequency!r}")
    try:  # a legacy name (US/Eastern) is stored as its canonical zone (America/New_York)
        tz = check_zone(str(data.get("timezone", "UTC")))
    except ValueError as exc:
        raise ProfileError(f"timezone: {exc}") from exc
    hour = data.get("hour", 8)
    if not isinstance(hour, int) or not 0 <= hour <= 23:
        raise ProfileError(f"hour: expected 0-23, got {hour!r}")
    per_email = data.get("papers_per_email", 10)
    if not isinstance(per_email, int) or not 1 <= per_email <= 50:
        raise ProfileError(f"papers_per_email: expected 1-50, got {per_email!r}")
    quiet = str(data.get("quiet_week", "send")).lower()
    if quiet not in ("send", "skip"):
        raise ProfileError("quiet_week: 'send' (a shorter email) or 'skip'")
    raw_name = str(data.get("name", ""))
    name = " ".join(raw_name.split())
    if len(name) > 200 or any(ord(c) < 32 or ord(c) == 127 for c in raw_name):
        raise ProfileError("name: at most 200 printable characters")
    return SubscriberInput(
        email=email,
        name=name,
        interests=interests,
        keywords=_strings(data.get("keywords"), "keywords"),
        categories=_strings(data.get("categories"), "categories"),
        authors=_strings(data.get("authors"), "authors"),
        seed_papers=_strings(data.get("seed_papers"), "seed_papers"),
        frequency=frequency,
        weekday=_weekday(data.get("weekday", "monday")),
        hour=hour,
        timezone=tz,
        papers_per_email=per_email,
        quiet_week=quiet,
        popularity_weight=float(data.get("popularity_weight", 1.0)),
    )

"""Subscriber profile files (TOML, one per subscriber) and their validation.

Also validates the same fields when they arrive from the CLI or a CSV import, so every
entry point applies one set of rules.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from digest.addresses import normalize_address
from digest.errors import AddressError, DigestError
from digest.store.subscribers import SubscriberInput

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
    interests = " ".join(str(data.get("interests", "")).split())
    if not interests:
        raise ProfileError("interests: required (a few words about what you read)")
    if len(interests) > MAX_INTERESTS:
        raise ProfileError(f"interests: at most {MAX_INTERESTS} characters")
    frequency = str(data.get("frequency", "weekly")).strip().lower()
    if frequency not in FREQUENCIES:
        raise ProfileError(f"frequency: one of {', '.join(FREQUENCIES)}, got {frequency!r}")
    tz = str(data.get("timezone", "UTC")).strip()
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ProfileError(f"timezone: unknown time zone {tz!r}") from exc
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


@dataclass(frozen=True, slots=True)
class ProfileFile:
    path: Path
    profile: SubscriberInput | None
    error: str | None = None


def load_profile_dir(directory: Path) -> list[ProfileFile]:
    """Every ``*.toml`` in ``directory``, each parsed or with the reason it was not."""
    if not directory.is_dir():
        raise ProfileError(f"{directory}: not a directory")
    results = []
    for path in sorted(directory.glob("*.toml")):
        try:
            with path.open("rb") as fh:
                results.append(ProfileFile(path, validate_profile(tomllib.load(fh))))
        except (tomllib.TOMLDecodeError, ProfileError) as exc:
            results.append(ProfileFile(path, None, str(exc)))
    return results


@dataclass(frozen=True, slots=True)
class SyncReport:
    created: list[str]
    updated: list[str]
    errors: list[tuple[Path, str]]


def sync_profile_dir(engine: Any, directory: Path, *, now: Any) -> SyncReport:
    """Load every profile file into the store as an active subscriber (files are the
    operator's word, so no confirmation email). Bad files are reported, not fatal."""
    from digest.store.subscribers import upsert_subscriber

    created, updated, errors = [], [], []
    for item in load_profile_dir(directory):
        if item.profile is None:
            errors.append((item.path, item.error or "invalid"))
            continue
        try:
            _, was_created = upsert_subscriber(engine, item.profile, now=now, status="active",
                                               origin="file")
        except AddressError as exc:  # a deleted subscriber's file: never revived
            errors.append((item.path, str(exc)))
            continue
        (created if was_created else updated).append(item.profile.email)
    return SyncReport(created, updated, errors)

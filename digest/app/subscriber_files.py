"""Use case: subscriber profile files (TOML, one per subscriber, e.g. ``subscribers/``)
loaded and synced into the store."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from digest.errors import AddressError
from digest.models import SubscriberInput
from digest.profiles import ProfileError, validate_profile
from digest.store import Engine
from digest.store.subscribers import upsert_subscriber


@dataclass(frozen=True, slots=True)
class ProfileFile:
    """One profile file: its parsed profile, or the reason it could not be used."""

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
    """Addresses created and updated by a sync, and each bad file with its reason."""

    created: list[str]
    updated: list[str]
    errors: list[tuple[Path, str]]


def sync_profile_dir(engine: Engine, directory: Path, *, now: datetime) -> SyncReport:
    """Load every profile file into the store as an active subscriber (files are the
    operator's word, so no confirmation email). Bad files are reported, not fatal."""
    created: list[str] = []
    updated: list[str] = []
    errors: list[tuple[Path, str]] = []
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

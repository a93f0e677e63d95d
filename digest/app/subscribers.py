"""Use case: the operator's list management (``digest subscribers ...``) — list, add, import,
remove, lift a suppression and sync from profile files."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from digest.app.subscriber_files import SyncReport, sync_profile_dir
from digest.app.subscriptions import SubscribeResult, Subscriptions
from digest.errors import SuppressedError
from digest.models import Subscriber, SubscriberInput
from digest.profiles import IMPORT_COLUMNS, ProfileError, validate_profile
from digest.store import Engine
from digest.store import subscribers as store
from digest.store.suppressions import Lifted, lift_suppression


@dataclass(slots=True)
class ImportReport:
    """Addresses created and updated by an import, and each bad row with its reason."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    bad: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)


@dataclass(frozen=True, slots=True)
class SubscriberAdmin:
    """List management over the store; new subscribers without ``--confirmed`` go through
    the same double opt-in as the web form."""

    engine: Engine
    subscriptions: Subscriptions

    def all(self) -> list[Subscriber]:
        """Every subscriber, oldest first, whatever their status."""
        return store.list_subscribers(self.engine)

    def add_confirmed(self, data: SubscriberInput, *, now: datetime) -> tuple[int, bool, str]:
        """Create (or update) a subscriber on the operator's word; returns (id, created,
        status). The status is active unless they unsubscribed or bounced: that stays, and
        only ``unsuppress`` (or the person) changes it. Raises SuppressedError for an
        address on the suppression list."""
        sid, created = store.upsert_subscriber(self.engine, data, now=now, status="active",
                                               origin="cli")
        sub = store.get_subscriber(self.engine, subscriber_id=sid)
        return sid, created, sub.status if sub else "gone"

    def unsuppress(self, email: str) -> Lifted:
        """Lift the suppression of ``email`` (normalized) and a bounced subscriber's
        bounced status; says what changed (``Lifted.changed`` False: nothing to lift)."""
        return lift_suppression(self.engine, email)

    async def add_pending(self, data: SubscriberInput, *, now: datetime) -> SubscribeResult:
        """Start the double opt-in for this address (a confirmation email)."""
        return await self.subscriptions.subscribe(data, now=now, origin="cli")

    def remove(self, email: str, *, now: datetime, keep_hash: bool = True) -> bool:
        """Delete a subscriber and all their data; with ``keep_hash`` the address hash stays
        suppressed so it is never revived. False when there is no such subscriber."""
        sub = store.get_subscriber(self.engine, email=email)
        if sub is None:
            return False
        store.delete_subscriber(self.engine, sub.id, now=now, reason="removed" if keep_hash else "")
        return True

    def sync(self, directory: Path, *, now: datetime) -> SyncReport:
        """Create or update one active subscriber per ``*.toml`` profile in ``directory``."""
        return sync_profile_dir(self.engine, directory, now=now)

    def import_rows(self, rows: Iterable[tuple[int, Mapping[Any, Any]]], *,
                    now: datetime) -> ImportReport:
        """Import ``(line, mapping)`` pairs (CSV rows: ``IMPORT_COLUMNS``) as active
        subscribers. Good rows are kept whatever happens to the bad ones; a deleted
        address is a bad row. A row with a ``None`` key (more fields than the header)
        is bad; its ``error`` value, if any, says why."""
        report = ImportReport()
        seen: dict[str, int] = {}
        for line, row in rows:
            if None in row:
                report.bad.append((line, row.get("error") or "more fields than the header has"))
                continue
            defaults = ("", "", "weekly", "UTC")
            try:
                data = validate_profile({k: (row.get(k) or "").strip() or default
                                         for k, default in zip(IMPORT_COLUMNS, defaults,
                                                               strict=True)})
            except ProfileError as exc:
                report.bad.append((line, str(exc)))
                continue
            if data.email in seen:
                report.bad.append((line, f"email: {data.email} already on line {seen[data.email]}"))
                continue
            try:
                _, created = store.upsert_subscriber(self.engine, data, now=now, status="active",
                                                     origin="import")
            except SuppressedError as exc:
                report.bad.append((line, f"email: {exc}"))
                continue
            seen[data.email] = line
            (report.created if created else report.updated).append(data.email)
        return report

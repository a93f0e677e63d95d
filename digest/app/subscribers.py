"""Use case: the operator's list management (``digest subscribers ...``) — list, add, import,
remove, lift a suppression and sync from profile files."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from digest.app.consent import ImportReport, export_rows, import_rows
from digest.app.subscriber_files import SyncReport, sync_profile_dir
from digest.app.subscriptions import SubscribeResult, Subscriptions
from digest.models import Subscriber, SubscriberInput
from digest.store import Engine
from digest.store import subscribers as store
from digest.store.consent import case_variants
from digest.store.suppressions import Lifted, lift_suppression


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
                    now: datetime, activate: bool = False) -> ImportReport:
        """Import CSV rows with consent intact (see ``digest.app.consent``): statuses and
        suppressions kept; ``activate`` makes pending and unsubscribed rows active."""
        return import_rows(self.engine, rows, now=now, activate=activate)

    def export_rows(self) -> list[list[str]]:
        """The list as CSV rows (``EXPORT_COLUMNS``), statuses and suppressions included."""
        return export_rows(self.engine)

    def case_variants(self, email: str) -> list[str]:
        """Stored addresses that differ from ``email`` only in the local part's case."""
        return case_variants(self.engine, email)

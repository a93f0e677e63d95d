"""Use case: moving a list between stores (``digest subscribers export`` / ``import``) with
consent intact — every status with its times, and the suppression list (hashes only).

An import never makes anyone active who was not: pending, unsubscribed and bounced rows
keep their status, a withdrawal in the file is applied to an active row, and suppressions
are restored. Only the operator's explicit ``activate`` turns pending or unsubscribed rows
active; a bounce or a suppression is lifted only by ``digest subscribers unsuppress``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from digest.addresses import address_hash
from digest.errors import SuppressedError
from digest.profiles import IMPORT_COLUMNS, ProfileError, validate_profile
from digest.store import Engine
from digest.store import consent as store
from digest.store import subscribers as subscriber_store

# The CSV an export writes and an import reads, in this order ("status" onwards optional).
EXPORT_COLUMNS = (*IMPORT_COLUMNS, "status", "name", "consent_at", "unsubscribed_at",
                  "suppression", "suppressed_at", "address_hash")
STATUSES = ("active", "pending", "unsubscribed", "bounced")
_HASH = re.compile(r"[0-9a-f]{64}")


@dataclass(slots=True)
class ImportReport:
    """What an import did: addresses created and updated, one line per row saying what
    happened to it (line number, text), warnings, and each bad row with its reason."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    done: list[tuple[int, str]] = field(default_factory=list)
    warnings: list[tuple[int, str]] = field(default_factory=list)
    bad: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)


def _iso(value: datetime | None) -> str:
    return value.astimezone(UTC).isoformat() if value else ""


def _when(raw: object, column: str) -> datetime | None:
    text = str(raw or "").strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ProfileError(f"{column}: not an ISO 8601 time: {text!r}") from exc
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def export_rows(engine: Engine) -> list[list[str]]:
    """The list as CSV rows (``EXPORT_COLUMNS``, header excluded): one per subscriber with
    their status, consent time and suppression, then one per suppression that belongs to no
    subscriber (a deleted one: the hash alone, address column empty)."""
    out: list[list[str]] = []
    records = store.consent_records(engine)
    claimed = set()
    for sub in subscriber_store.list_subscribers(engine):
        record = records.get(sub.email)
        if record is None:  # deleted between the two reads
            continue
        sup = record.suppression
        if sup is not None:
            claimed.add(sup.address_hash)
        out.append([sub.email, sub.profile.interests, sub.frequency, sub.timezone,
                    record.status, sub.name, _iso(record.confirmed_at),
                    _iso(record.unsubscribed_at), sup.reason if sup else "",
                    _iso(sup.since) if sup else "", sup.address_hash if sup else ""])
    for sup in store.suppression_list(engine):
        if sup.address_hash not in claimed:
            out.append(["", "", "", "", "", "", "", "", sup.reason, _iso(sup.since),
                        sup.address_hash])
    return out


def _suppression_row(engine: Engine, row: Mapping[Any, Any], now: datetime) -> str:
    hashed = str(row.get("address_hash") or "").strip().lower()
    reason = str(row.get("suppression") or "").strip()
    if not _HASH.fullmatch(hashed) or not reason:
        raise ProfileError("email: missing (a row without an address must carry an "
                           "address_hash and a suppression reason)")
    since = _when(row.get("suppressed_at"), "suppressed_at") or now
    if store.restore_suppression(engine, store.Suppression(hashed, reason, since)):
        return f"suppression {hashed[:12]}… ({reason}) restored"
    return f"suppression {hashed[:12]}… already on the list"


def _import_one(engine: Engine, row: Mapping[Any, Any], *, now: datetime,
                activate: bool) -> tuple[str, str, bool]:
    """(address, what was done, created) for one subscriber row; raises ProfileError or
    SuppressedError for a row that cannot be taken."""
    status = str(row.get("status") or "").strip().lower()
    if status and status not in STATUSES:
        raise ProfileError(f"status: one of {', '.join(STATUSES)}, got {status!r}")
    defaults = ("", "", "weekly", "UTC")
    fields = {k: str(row.get(k) or "").strip() or default
              for k, default in zip(IMPORT_COLUMNS, defaults, strict=True)}
    fields["name"] = str(row.get("name") or "").strip()
    data = validate_profile(fields)
    wanted = status or "active"  # a plain list (no status column) is the operator's word
    if activate and wanted in ("pending", "unsubscribed"):
        wanted = "active"
    confirmed = _when(row.get("consent_at"), "consent_at")
    left = _when(row.get("unsubscribed_at"), "unsubscribed_at")
    reason = str(row.get("suppression") or "").strip()
    since = _when(row.get("suppressed_at"), "suppressed_at") or now
    before = store.consent_of(engine, data.email)
    # "pending" never changes an existing row's status: each change is made below, on purpose.
    subscriber_store.upsert_subscriber(engine, data, now=now, status="pending", origin="import")
    if before is None:
        store.set_consent(engine, data.email, status=wanted,
                          confirmed_at=confirmed or (now if wanted == "active" else None),
                          unsubscribed_at=left or (now if wanted == "unsubscribed" else None))
        said = f"created, {wanted}"
    elif wanted in ("unsubscribed", "bounced") and before.status in ("active", "pending"):
        # A withdrawal the file records outranks consent this store still shows.
        store.set_consent(engine, data.email, status=wanted, confirmed_at=before.confirmed_at,
                          unsubscribed_at=left or (now if wanted == "unsubscribed" else None))
        said = f"updated, now {wanted} as the file says (was {before.status})"
    elif (before.status == "pending" and (status == "active" or activate)) or (
            before.status == "unsubscribed" and activate):
        # Confirmed elsewhere (the file says active), or the operator's explicit --activate.
        store.set_consent(engine, data.email, status="active", confirmed_at=confirmed or now,
                          unsubscribed_at=before.unsubscribed_at)
        how = "--activate" if activate else "the file says active"
        said = f"updated, now active (was {before.status}; {how})"
    else:
        said = f"updated, stays {before.status}"
    if reason and store.restore_suppression(
            engine, store.Suppression(address_hash(data.email), reason, since)):
        said += f"; suppression ({reason}) restored"
    after = store.consent_of(engine, data.email)
    if after is not None and after.suppression is not None:
        said += (f"; suppressed ({after.suppression.reason}): no mail until "
                 f"`digest subscribers unsuppress {data.email}`")
    return data.email, said, before is None


def import_rows(engine: Engine, rows: Iterable[tuple[int, Mapping[Any, Any]]], *,
                now: datetime, activate: bool = False) -> ImportReport:
    """Import ``(line, mapping)`` CSV rows (``EXPORT_COLUMNS``; only email and interests
    required). Good rows are kept whatever happens to the bad ones; a deleted (suppressed,
    row-less) address is a bad row. A row with a ``None`` key (more fields than the header)
    is bad; its ``error`` value, if any, says why. See the module docstring for statuses."""
    report = ImportReport()
    seen: dict[str, int] = {}
    for line, row in rows:
        if None in row:
            report.bad.append((line, row.get("error") or "more fields than the header has"))
            continue
        try:
            if not str(row.get("email") or "").strip() and row.get("address_hash"):
                report.done.append((line, _suppression_row(engine, row, now)))
                continue
            email = validate_profile({"email": str(row.get("email") or "").strip(),
                                      "interests": "x"}).email
            if email in seen:
                raise ProfileError(f"email: {email} already on line {seen[email]}")
            for other in store.case_variants(engine, email):
                report.warnings.append((line, f"{email} is the subscriber {other} (only the "
                                              "letter case differs): that one is updated"))
            address, said, created = _import_one(engine, row, now=now, activate=activate)
        except ProfileError as exc:
            report.bad.append((line, str(exc)))
            continue
        except SuppressedError as exc:
            report.bad.append((line, f"email: {exc}"))
            continue
        seen[address] = line
        (report.created if created else report.updated).append(address)
        report.done.append((line, f"{address}: {said}"))
    return report

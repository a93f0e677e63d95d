"""Subscription lifecycle shared by the web app and the CLI: subscribe (double opt-in),
confirm, unsubscribe, preferences, feedback, export and deletion.

Store writes are conditional so that replays and races are harmless; notices go out
through ``digest.notify`` (which respects suppression).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from digest.addresses import address_hash
from digest.errors import SuppressedError, TokenError
from digest.models import Subscriber
from digest.notify import send_notice
from digest.profiles import ProfileError, validate_profile
from digest.runtime import Runtime
from digest.store import subscribers as store
from digest.store.subscribers import SubscriberInput
from digest.tokens import make_token, read_token

FEEDBACK_SIGNALS = {"more": 1, "less": -1}
PREFERENCE_FIELDS = ("interests", "seed_papers", "frequency", "weekday", "hour", "timezone",
                     "papers_per_email", "quiet_week")


class LinkUsed(TokenError):
    """A good signature on a link whose action is done or superseded (replay)."""


@dataclass(frozen=True, slots=True)
class SubscribeResult:
    subscriber_id: int | None
    confirmation_sent: bool
    reason: str  # new, pending, resubscribe, active, suppressed (never shown to the visitor)


def link(rt: Runtime, path: str, purpose: str, subscriber_id: int, **extra: Any) -> str:
    token = make_token(rt.secret, purpose, subscriber_id, **extra)
    return f"{rt.settings.base_url.rstrip('/')}/{path}/{token}"


def manage_links(rt: Runtime, subscriber_id: int) -> dict[str, str]:
    """The never-expiring links a subscriber keeps (the same ones every digest carries)."""
    return {"preferences_url": link(rt, "preferences", "preferences", subscriber_id),
            "unsubscribe_url": link(rt, "unsubscribe", "unsubscribe", subscriber_id)}


async def subscribe(rt: Runtime, data: SubscriberInput, *, now: datetime,
                    origin: str = "web") -> SubscribeResult:
    """Record a subscription request and mail a confirmation link when one is due.

    Active and suppressed addresses are left untouched and get no mail, so the caller can
    answer every request the same way (no address enumeration)."""
    engine = rt.engine
    if store.is_suppressed(engine, address_hash(data.email)):
        return SubscribeResult(None, False, "suppressed")
    existing = store.get_subscriber(engine, email=data.email)
    if existing is None:
        try:
            sid, _ = store.upsert_subscriber(engine, data, now=now, status="pending", origin=origin)
        except SuppressedError:
            return SubscribeResult(None, False, "suppressed")
        reason = "new"
    elif existing.status in ("active", "bounced"):
        return SubscribeResult(existing.id, False, existing.status)
    else:
        sid = existing.id
        reason = "pending" if existing.status == "pending" else "resubscribe"
        # Not yet confirmed (or gone): the latest request's profile is the one to confirm.
        store.update_subscriber(engine, sid, {"interests": data.interests,
                                              "frequency": data.frequency,
                                              "timezone": data.timezone})
    store.update_subscriber(engine, sid, {"last_confirmation_sent_at": now})
    url = link(rt, "confirm", "confirm", sid, n=now.isoformat())
    sent = await send_notice(rt, "confirm", to=data.email, name=data.name, action_url=url)
    return SubscribeResult(sid, sent, reason)


def read_link(rt: Runtime, purpose: str, token: str) -> tuple[dict[str, Any], Subscriber]:
    """Verify a link's token and load its subscriber (TokenError if either fails)."""
    max_age = {"confirm": rt.settings.web.confirm_max_age,
               "delete": rt.settings.web.delete_max_age}.get(purpose)
    payload = read_token(rt.secret, purpose, token, max_age=max_age)
    sub = store.get_subscriber(rt.engine, subscriber_id=payload["s"])
    if sub is None:
        raise LinkUsed("this link belongs to a subscription that no longer exists")
    return payload, sub


async def confirm(rt: Runtime, token: str, *, now: datetime) -> Subscriber:
    payload, sub = read_link(rt, "confirm", token)
    try:
        issued = datetime.fromisoformat(str(payload.get("n")))
    except ValueError as exc:
        raise TokenError("this link is not valid") from exc
    if issued.tzinfo is None:
        raise TokenError("this link is not valid")
    if not store.confirm_pending(rt.engine, sub.id, issued=issued, now=now):
        if sub.status == "active":
            raise LinkUsed("this subscription is already confirmed")
        raise LinkUsed("this confirmation link has been replaced or withdrawn")
    links = manage_links(rt, sub.id)
    await send_notice(rt, "welcome", to=sub.email, name=sub.name,
                      action_url=links["preferences_url"], extra=links)
    return sub


async def unsubscribe(rt: Runtime, token: str, *, now: datetime) -> Subscriber:
    """Unsubscribe at once; repeating it is harmless and sends no second goodbye."""
    _, sub = read_link(rt, "unsubscribe", token)
    if store.unsubscribe(rt.engine, sub.id, now=now):
        base = rt.settings.base_url.rstrip("/") + "/"
        await send_notice(rt, "goodbye", to=sub.email, name=sub.name, action_url=base)
    return sub


def update_preferences(rt: Runtime, sub: Subscriber, form: Mapping[str, Any]) -> Subscriber:
    """Validate the preference fields with the profile rules and store them."""
    data = {"email": sub.email, **{k: form[k] for k in PREFERENCE_FIELDS if k in form}}
    clean = validate_profile(data)  # ProfileError names the bad field
    values = {k: v for k, v in clean.values().items() if k in PREFERENCE_FIELDS}
    if not store.update_subscriber(rt.engine, sub.id, values):
        raise LinkUsed("this subscription no longer exists")
    updated = store.get_subscriber(rt.engine, subscriber_id=sub.id)
    assert updated is not None
    return updated


def record_feedback(rt: Runtime, token: str, *, now: datetime) -> tuple[Subscriber, str, str]:
    payload, sub = read_link(rt, "feedback", token)
    paper, signal = payload.get("paper"), payload.get("signal")
    if not isinstance(paper, str) or not paper or len(paper) > 300 or signal not in FEEDBACK_SIGNALS:
        raise TokenError("this link is not valid")
    store.record_feedback(rt.engine, sub.id, paper, FEEDBACK_SIGNALS[signal], now=now)
    return sub, paper, signal


async def send_export(rt: Runtime, sub: Subscriber) -> bool:
    data = store.export_subscriber(rt.engine, sub.id)
    if data is None:
        raise LinkUsed("this subscription no longer exists")
    return await send_notice(rt, "export", to=sub.email, name=sub.name,
                             action_url=manage_links(rt, sub.id)["preferences_url"], export=data)


async def request_deletion(rt: Runtime, sub: Subscriber) -> bool:
    url = link(rt, "delete", "delete", sub.id)
    return await send_notice(rt, "delete", to=sub.email, name=sub.name, action_url=url)


def delete(rt: Runtime, token: str, *, now: datetime) -> str:
    """Erase the subscriber named by a deletion link; returns the erased address."""
    _, sub = read_link(rt, "delete", token)
    erased = store.delete_subscriber(rt.engine, sub.id, now=now)
    if erased is None:
        raise LinkUsed("this data has already been deleted")
    return erased


@dataclass(slots=True)
class ImportReport:
    created: list[str]
    updated: list[str]
    bad: list[tuple[int, str]]  # (line number, reason)


IMPORT_COLUMNS = ("email", "interests", "frequency", "timezone")


def import_rows(engine: Engine, rows: Iterable[tuple[int, Mapping[Any, Any]]], *,
                now: datetime) -> ImportReport:
    """Import ``(line, mapping)`` pairs as active subscribers (the operator vouches for them).

    Good rows are kept whatever happens to the bad ones; a deleted address is a bad row."""
    report = ImportReport([], [], [])
    seen: dict[str, int] = {}
    for line, row in rows:
        if None in row:
            report.bad.append((line, row.get("error") or "more fields than the header has"))
            continue
        try:
            data = validate_profile({k: (row.get(k) or "").strip() or default
                                     for k, default in zip(IMPORT_COLUMNS,
                                                           ("", "", "weekly", "UTC"),
                                                           strict=True)})
        except ProfileError as exc:
            report.bad.append((line, str(exc)))
            continue
        if data.email in seen:
            report.bad.append((line, f"email: {data.email} already on line {seen[data.email]}"))
            continue
        try:
            _, created = store.upsert_subscriber(engine, data, now=now, status="active",
                                                 origin="import")
        except SuppressedError as exc:
            report.bad.append((line, f"email: {exc}"))
            continue
        seen[data.email] = line
        (report.created if created else report.updated).append(data.email)
    return report

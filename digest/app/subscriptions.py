"""Use case: the subscription lifecycle shared by the web app, the CLI and inbound mail —
subscribe (double opt-in), confirm, unsubscribe, preferences, feedback, export, deletion.

Store writes are conditional so that replays and races are harmless; notices go out
through the ``Notifier`` (which respects suppression).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from digest.addresses import address_hash
from digest.app.notices import Notifier
from digest.config import WebSettings
from digest.errors import DeliveryError, SuppressedError, TokenError
from digest.links import Links
from digest.models import Paper, Subscriber, SubscriberInput
from digest.profiles import validate_profile
from digest.store import Engine, consent, rate_limits
from digest.store import subscribers as store
from digest.store.papers import get_papers
from digest.tokens import is_feedback_link_token, read_feedback_token, read_token_issued

FEEDBACK_SIGNALS = {"more": 1, "less": -1}
PREFERENCE_FIELDS = ("interests", "seed_papers", "frequency", "weekday", "hour", "timezone",
                     "papers_per_email", "quiet_week")


class LinkUsed(TokenError):
    """A good signature on a link whose action is done or superseded (replay)."""


class LinkGone(LinkUsed):
    """A good signature on a link whose subscriber no longer exists (whatever row has their
    integer id now): it acts on nobody."""

    def __init__(self, text: str = "this subscription no longer exists") -> None:
        super().__init__(text)


@dataclass(frozen=True, slots=True)
class SubscribeResult:
    """What a subscribe request did; ``reason`` is never shown to the visitor: new, pending,
    resubscribe, active, bounced or suppressed."""

    subscriber_id: int | None
    confirmation_sent: bool
    reason: str
    last_sent: datetime | None = None  # reason "recently_sent": when the last one went out


@dataclass(frozen=True, slots=True)
class Subscriptions:
    """The lifecycle over the store, with the notifier, the link builder, the signing
    secret and the web settings (link lifetimes, rate limits)."""

    engine: Engine
    notifier: Notifier
    links: Links
    secret: str
    web: WebSettings

    async def subscribe(self, data: SubscriberInput, *, now: datetime,
                        origin: str = "web") -> SubscribeResult:
        """Record a subscription request and mail a confirmation link when one is due.

        Active and suppressed addresses are left untouched and get no mail, so the caller
        can answer every request the same way (no address enumeration). At most one
        confirmation mail per address per ``web.confirm_resend`` seconds (counting mails
        sent, not requests; an unsubscribe since the last one starts over): reason
        "recently_sent", with ``last_sent``. Raises DeliveryError when the confirmation
        cannot be sent (nothing is recorded as sent then)."""
        engine = self.engine
        if store.is_suppressed(engine, address_hash(data.email)):
            return SubscribeResult(None, False, "suppressed")
        existing = store.get_subscriber(engine, email=data.email)
        if existing is None:
            try:
                sid, _ = store.upsert_subscriber(engine, data, now=now, status="pending",
                                                 origin=origin)
            except SuppressedError:
                return SubscribeResult(None, False, "suppressed")
            reason = "new"
            existing = store.get_subscriber(engine, subscriber_id=sid)
            if existing is None:  # deleted between the two statements: nobody to mail
                return SubscribeResult(None, False, "suppressed")
        elif existing.status in ("active", "bounced"):
            return SubscribeResult(existing.id, False, existing.status)
        else:
            sid = existing.id
            reason = "pending" if existing.status == "pending" else "resubscribe"
            last, left = consent.confirmation_state(engine, sid)
            fresh = last is not None and (left is None or left < last)
            if fresh and last is not None and (now - last).total_seconds() < self.web.confirm_resend:
                return SubscribeResult(sid, False, "recently_sent", last_sent=last)
            # Not yet confirmed (or gone): the latest request's profile is the one to confirm.
            store.update_subscriber(engine, sid, {"interests": data.interests,
                                                  "frequency": data.frequency,
                                                  "timezone": data.timezone})
        url = self.links.url("confirm", sid, existing.public_id, n=now.isoformat())
        sent = await self.notifier.send("confirm", to=data.email, name=data.name, action_url=url)
        if sent:
            store.update_subscriber(engine, sid, {"last_confirmation_sent_at": now})
        return SubscribeResult(sid, sent, reason)

    def read_link(self, purpose: str, token: str) -> tuple[dict[str, Any], Subscriber]:
        """Verify a link's token and load its subscriber. Raises TokenError (forged, expired,
        other purpose) or LinkGone (the subscriber is gone, whoever has their number now).

        A link names its subscriber by public id (random, never reused). A link issued
        before public ids existed (migration 0011_trust) names the integer id only: it is
        honoured only when the row with that id was created no later than the link was
        signed, so an old link never reaches a later sign-up that got a reused id."""
        max_age = {"confirm": self.web.confirm_max_age,
                   "delete": self.web.delete_max_age,
                   "resubscribe": self.web.undo_max_age}.get(purpose)
        payload, issued = read_token_issued(self.secret, purpose, token, max_age=max_age)
        if "u" in payload:
            sub = store.get_subscriber(self.engine, public_id=payload["u"])
        else:
            created = store.created_at(self.engine, payload["s"])
            # Signatures carry whole seconds: compare at that precision.
            if created is None or issued < created.replace(microsecond=0):
                raise LinkGone()
            sub = store.get_subscriber(self.engine, subscriber_id=payload["s"])
        if sub is None:
            raise LinkGone()
        return payload, sub

    async def confirm(self, token: str, *, now: datetime) -> Subscriber:
        """Activate the subscription a confirmation link names and send the welcome notice.
        Raises TokenError for a bad link, LinkUsed for a replayed or superseded one."""
        payload, sub = self.read_link("confirm", token)
        try:
            issued = datetime.fromisoformat(str(payload.get("n")))
        except ValueError as exc:
            raise TokenError("this link is not valid") from exc
        if issued.tzinfo is None:
            raise TokenError("this link is not valid")
        if not store.confirm_pending(self.engine, sub.id, issued=issued, now=now):
            if sub.status == "active":
                raise LinkUsed("this subscription is already confirmed")
            raise LinkUsed("this confirmation link has been replaced or withdrawn")
        links = self.links.manage(sub.id, sub.public_id)
        await self.notifier.send("welcome", to=sub.email, name=sub.name,
                                 action_url=links["preferences_url"], extra=links)
        return sub

    async def unsubscribe(self, token: str, *, now: datetime) -> Subscriber:
        """Unsubscribe at once; repeating it is harmless and sends no second goodbye.
        Returns the subscriber as they were before (``status`` is the former one)."""
        _, sub = self.read_link("unsubscribe", token)
        if store.unsubscribe(self.engine, sub.id, now=now):
            await self.notifier.send("goodbye", to=sub.email, name=sub.name,
                                     action_url=self.links.base_url.rstrip("/") + "/")
        return sub

    def undo_url(self, sub: Subscriber, *, now: datetime) -> str | None:
        """The signed "undo" link for a subscriber who was active before unsubscribing at
        ``now`` (works ``web.undo_max_age`` seconds, and only for that unsubscribe); None
        for anyone else (a pending subscriber must confirm, not undo)."""
        if sub.status != "active":
            return None
        return self.links.url("resubscribe", sub.id, sub.public_id, at=now.isoformat())

    def resubscribe(self, token: str, *, now: datetime) -> Subscriber:
        """Undo an unsubscribe with the unsubscribe page's signed link. Raises TokenError
        (bad or expired link), LinkGone, or LinkUsed when there is nothing to undo."""
        payload, sub = self.read_link("resubscribe", token)
        try:
            left = datetime.fromisoformat(str(payload.get("at")))
        except ValueError as exc:
            raise TokenError("this link is not valid") from exc
        if sub.status == "active":
            raise LinkUsed("you are subscribed already")
        if not consent.undo_unsubscribe(self.engine, sub.id, left=left, now=now):
            raise LinkUsed("this subscription can no longer be restored from this link")
        return sub

    async def send_manage_link(self, email: str, *, now: datetime) -> bool:
        """Mail an active subscriber their manage links ("send me my link"); nothing for
        any other address, and at most one per ``web.confirm_resend`` seconds per
        subscriber. Raises DeliveryError when the mail cannot be sent (the count is
        returned)."""
        sub = store.get_subscriber(self.engine, email=email)
        if sub is None or sub.status != "active":
            return False
        key = f"manage:{sub.id}"
        if self.throttle(key, limit=1, window=self.web.confirm_resend, now=now):
            return False
        links = self.links.manage(sub.id, sub.public_id)
        try:
            return await self.notifier.send("manage", to=sub.email, name=sub.name,
                                            action_url=links["preferences_url"], extra=links)
        except DeliveryError:
            self.unthrottle(key)
            raise

    def update_preferences(self, sub: Subscriber, form: Mapping[str, Any]) -> Subscriber:
        """Validate the preference fields with the profile rules and store them. Raises
        ProfileError naming a bad field, LinkUsed when the subscriber is gone."""
        data = {"email": sub.email, **{k: form[k] for k in PREFERENCE_FIELDS if k in form}}
        clean = validate_profile(data)
        values = {k: v for k, v in clean.values().items() if k in PREFERENCE_FIELDS}
        if not store.update_subscriber(self.engine, sub.id, values):
            raise LinkGone()
        updated = store.get_subscriber(self.engine, subscriber_id=sub.id)
        if updated is None:
            raise LinkGone()
        return updated

    def feedback_request(self, token: str) -> tuple[Subscriber, str, str]:
        """The (subscriber, paper id, signal) a feedback link names, in either format (the
        short one digests carry now, or a full token as older digests carried); TokenError if
        malformed, LinkGone when the subscriber is gone."""
        paper: object
        signal: object
        if is_feedback_link_token(token):
            public_id, paper, signal = read_feedback_token(self.secret, token)
            found = store.get_subscriber(self.engine, public_id=public_id)
            if found is None:
                raise LinkGone()
            sub = found
        else:
            payload, sub = self.read_link("feedback", token)
            paper, signal = payload.get("paper"), payload.get("signal")
        if (not isinstance(paper, str) or not paper or len(paper) > 300
                or signal not in FEEDBACK_SIGNALS):
            raise TokenError("this link is not valid")
        return sub, paper, str(signal)

    def paper(self, paper_id: str) -> Paper | None:
        """A stored paper (to show its title on the feedback page)."""
        return get_papers(self.engine, [paper_id]).get(paper_id)

    def record_feedback(self, token: str, *, now: datetime) -> tuple[Subscriber, str, str]:
        """Store the "more / less like this" click a feedback link carries."""
        sub, paper, signal = self.feedback_request(token)
        store.record_feedback(self.engine, sub.id, paper, FEEDBACK_SIGNALS[signal], now=now)
        return sub, paper, signal

    async def send_export(self, sub: Subscriber) -> bool:
        """Email the subscriber everything the store holds about them, as JSON."""
        data = store.export_subscriber(self.engine, sub.id)
        if data is None:
            raise LinkGone()
        manage = self.links.manage(sub.id, sub.public_id)
        return await self.notifier.send("export", to=sub.email, name=sub.name,
                                        action_url=manage["preferences_url"],
                                        export=data)

    async def request_deletion(self, sub: Subscriber) -> bool:
        """Email a deletion link: only the inbox owner may delete."""
        return await self.notifier.send("delete", to=sub.email, name=sub.name,
                                        action_url=self.links.url("delete", sub.id,
                                                                  sub.public_id))

    def delete(self, token: str, *, now: datetime) -> str:
        """Erase the subscriber named by a deletion link; returns the erased address."""
        _, sub = self.read_link("delete", token)
        erased = store.delete_subscriber(self.engine, sub.id, now=now)
        if erased is None:
            raise LinkUsed("this data has already been deleted")
        return erased

    def throttle(self, key: str, *, limit: int, window: int, now: datetime) -> int:
        """Count one request against ``key`` (e.g. ``ip:<addr>``); 0 if allowed, else the
        seconds until it would be (fixed windows shared by every server process)."""
        return rate_limits.hit(self.engine, key, limit=limit, window=window, now=now)

    def unthrottle(self, key: str) -> None:
        """Forget ``key``'s count: the request it counted did not happen after all."""
        rate_limits.forget(self.engine, key)

"""Use case: mail that comes back — bounces (DSNs), complaints (ARF), auto-replies, and the
requests people mail: ``unsubscribe <token>``, ``subscribe``, ``help``.

An MTA alias pipes each message to ``digest inbound``, or the listener of ``digest run``
hands it over (see the README). A bounce or complaint is matched to its delivery row by the
signed VERP address it was sent to (send.verp), never by its text; a forged or foreign
token changes nothing. Auto-replies, bounces and mail from the null sender are never
answered (RFC 3834 §2, loop safety); a subscribe starts the web form's double opt-in.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage, Message
from email.utils import getaddresses

from digest.addresses import address_hash
from digest.app.notices import compose_notice
from digest.app.subscriptions import Subscriptions
from digest.errors import AddressError, DeliveryError, TokenError
from digest.profiles import ProfileError, validate_profile
from digest.render import RenderedEmail
from digest.send import requests, returns
from digest.send.verp import BounceRef, Verp
from digest.store import Engine
from digest.store import returns as store
from digest.store.subscribers import is_suppressed

MAX_BYTES = 5 * 2**20  # DIGEST_INBOUND__MAX_BYTES' default
_MACHINES = ("mailer-daemon", "postmaster", "noreply", "no-reply", "do-not-reply", "bounce")


@dataclass(frozen=True, slots=True)
class Handled:
    """What was done with one message: ``kind`` (bounce, delay, complaint, auto-reply,
    subscribe, help, unsubscribe, ignored), one line saying why, and who it concerned."""

    kind: str
    detail: str
    subscriber_id: int | None = None
    delivery_id: int | None = None


@dataclass(frozen=True, slots=True)
class Inbound:
    """Handles inbound mail with the store, the subscription use cases (which own the
    notifier and the signed links), the VERP reader (None: DIGEST_BOUNCE_ADDRESS unset)
    and the limits: hard bounces before suppression, the largest message read."""

    engine: Engine
    subscriptions: Subscriptions
    verp: Verp | None
    bounce_threshold: int = 1
    max_bytes: int = MAX_BYTES
    product_name: str = "digest"

    async def handle(self, raw: bytes, *, now: datetime, envelope_to: Sequence[str] = (),
                     envelope_from: str | None = None) -> Handled:
        """Act on one message. ``envelope_to``/``envelope_from``: the SMTP envelope when
        known (the listener, an MTA pipe's ``$RECIPIENT`` / ``$SENDER``). Raises StoreError
        (the database is down: retry later) and DeliveryError (a confirmation or reply
        could not be sent: retry later); everything else is an answer."""
        if len(raw) > self.max_bytes:
            return self._ignored(f"larger than {self.max_bytes} bytes "
                                 "(DIGEST_INBOUND__MAX_BYTES)", now)
        message = returns.parse_mail(raw)
        kind = returns.classify(message)
        ref = self._ref([*envelope_to, *requests.envelope_addresses(message)])
        if kind == "dsn":
            return self._bounce(message, ref, now)
        if kind == "complaint":
            return self._complaint(message, ref, now)
        if kind == "auto-reply":
            detail = "an automatic reply (RFC 3834): not answered"
            row = ref.id if ref and ref.kind == "delivery" else None
            who = (store.delivery_subscriber(self.engine, row) if row is not None
                   else ref.id if ref else None)
            store.record_event(self.engine, "auto-reply", now=now, detail=detail,
                               delivery_id=row if who is not None else None,
                               subscriber_id=who)
            return Handled("auto-reply", detail, who, row)
        return await self._request(message, now, envelope_from)

    def accepts(self, address: str) -> bool:
        """Whether mail to ``address`` is ours to take (the listener relays nothing): the
        list address (DIGEST_FROM_ADDRESS) or a bounce address with a good signature."""
        address = address.strip().strip("<>")
        if address.lower() == self.subscriptions.notifier.from_address.lower():
            return True
        return self._ref([address]) is not None

    async def handle_envelope(self, raw: bytes, envelope_to: Sequence[str],
                              envelope_from: str) -> Handled:
        """``handle`` for the listener: the SMTP envelope as aiosmtpd gives it, the clock
        read now."""
        return await self.handle(raw, now=datetime.now(UTC), envelope_to=envelope_to,
                                 envelope_from=envelope_from)

    def _ref(self, addresses: list[str]) -> BounceRef | None:
        return self.verp.find(addresses) if self.verp else None

    def _ignored(self, detail: str, now: datetime) -> Handled:
        store.record_event(self.engine, "ignored", now=now, detail=detail)
        return Handled("ignored", detail)

    def _bounce(self, message: EmailMessage, ref: BounceRef | None, now: datetime) -> Handled:
        bounce = returns.read_dsn(message)
        if bounce is None:
            return self._ignored("a delivery report that reports no failure", now)
        if ref is None:
            return self._ignored(f"a bounce not sent to a signed bounce address of ours "
                                 f"(DIGEST_BOUNCE_ADDRESS): {bounce.line()}", now)
        hard = bounce.permanent and bounce.verdict.fault == "recipient"
        done = store.record_bounce(
            self.engine, delivery_id=ref.id if ref.kind == "delivery" else None,
            subscriber_id=ref.id if ref.kind == "notice" else None, line=bounce.line(),
            fault=bounce.verdict.fault, failed=bounce.action == "failed", hard=hard,
            status=bounce.status, now=now, threshold=self.bounce_threshold)
        if done.subscriber_id is None:
            return self._ignored(f"a bounce for a delivery or subscriber that no longer "
                                 f"exists: {bounce.line()}", now)
        kind = "bounce" if bounce.action == "failed" else "delay"
        note = ("; the subscriber is suppressed" if done.suppressed
                else "; counted as a hard bounce" if hard and done.subscriber_id
                else "; nobody suppressed" if kind == "bounce" else "; recorded only")
        return Handled(kind, f"{bounce.line()} — {bounce.verdict.rule}{note}",
                       done.subscriber_id, done.delivery_id)

    def _complaint(self, message: EmailMessage, ref: BounceRef | None,
                   now: datetime) -> Handled:
        original = returns.enclosed(message)
        if ref is None and original is not None:
            # Feedback loops report to a registered address: the enclosed original still
            # carries our signed envelope sender or its signed unsubscribe token.
            ref = self._ref([addr for _, addr in getaddresses(
                [str(v) for v in original.get_all("Return-Path", [])])])
        subscriber_id = delivery_id = None
        if ref is not None and ref.kind == "delivery":
            delivery_id = ref.id
            subscriber_id = store.delivery_subscriber(self.engine, ref.id)
        elif ref is not None:
            subscriber_id = ref.id
        elif original is not None:
            token = requests.unsubscribe_token(_unsubscribe_subject(original))
            if token is not None:
                with contextlib.suppress(TokenError):
                    subscriber_id = self.subscriptions.read_link("unsubscribe", token)[1].id
        feedback = returns.feedback_type(message)
        if subscriber_id is None:
            return self._ignored(f"a complaint ({feedback}) naming no subscriber of ours", now)
        done = store.record_complaint(self.engine, subscriber_id=subscriber_id,
                                      delivery_id=delivery_id,
                                      detail=f"feedback-type {feedback} (RFC 5965)", now=now)
        if done.subscriber_id is None:
            return self._ignored("a complaint about a subscriber who is gone", now)
        return Handled("complaint", f"complaint ({feedback}): unsubscribed and suppressed",
                       subscriber_id, delivery_id)

    async def _request(self, message: EmailMessage, now: datetime,
                       envelope_from: str | None) -> Handled:
        request = requests.read_request(message)
        if request is None:
            return self._ignored("no request digest understands (subscribe, help, "
                                 "unsubscribe <token>)", now)
        if request.command == "unsubscribe":
            try:
                sub = await self.subscriptions.unsubscribe(request.token or "", now=now)
            except TokenError as exc:
                return self._ignored(f"unsubscribe: {exc}", now)
            store.record_event(self.engine, "unsubscribe", now=now, subscriber_id=sub.id)
            return Handled("unsubscribe", f"unsubscribed subscriber #{sub.id}", sub.id)
        why = _unanswerable(message, envelope_from)
        to = requests.from_address(message)
        if why is None and to is None:
            why = "no single From address to answer"
        if why is not None or to is None:
            return self._ignored(f"{request.command}: {why} (never answered)", now)
        if request.command == "help":
            return await self._help(message, to, now)
        return await self._subscribe(to, request.interests, now)

    async def _subscribe(self, to: str, interests: str, now: datetime) -> Handled:
        try:
            data = validate_profile({"email": to, "interests": interests or "",
                                     "frequency": "weekly"})
        except (ProfileError, AddressError) as exc:
            return self._ignored(f"subscribe: {exc}", now)
        subs, web = self.subscriptions, self.subscriptions.web
        key = f"addr:{address_hash(data.email)}"  # the web form's key: one limit for both
        if subs.throttle(key, limit=1, window=web.confirm_resend, now=now):
            return self._ignored("subscribe: a confirmation went to this address a short "
                                 "while ago (DIGEST_WEB__CONFIRM_RESEND)", now)
        try:
            result = await subs.subscribe(data, now=now, origin="email")
        except DeliveryError:
            subs.unthrottle(key)  # nothing was sent: the MTA's retry may try again
            raise
        # The same outward answer for every address (no enumeration): the result's reason
        # is only for the operator.
        store.record_event(self.engine, "subscribe", now=now,
                           subscriber_id=result.subscriber_id, detail=result.reason)
        return Handled("subscribe", f"subscribe request ({result.reason}); confirmation "
                       f"{'sent' if result.confirmation_sent else 'not sent'}",
                       result.subscriber_id)

    async def _help(self, request: EmailMessage, to: str, now: datetime) -> Handled:
        subs = self.subscriptions
        if is_suppressed(self.engine, address_hash(to)):
            return self._ignored("help: the address is suppressed", now)
        if subs.throttle(f"help:{address_hash(to)}", limit=1,
                         window=subs.web.confirm_resend, now=now):
            return self._ignored("help: answered a short while ago", now)
        notifier = subs.notifier
        text = help_text(self.product_name, notifier.from_address, subs.links.base_url)
        reply = compose_notice(
            RenderedEmail(subject=f"How to subscribe to {self.product_name}", html="",
                          text=text, preheader=""),
            to=to, name="", from_addr=notifier.from_address, from_name=notifier.from_name,
            now=now)
        reply.replace_header("Auto-Submitted", "auto-replied")  # RFC 3834 §5.1
        original_id = str(request.get("Message-ID", "")).strip()
        if original_id.startswith("<") and original_id.endswith(">") and len(original_id) < 250:
            reply["In-Reply-To"] = original_id
        # The null sender: nothing may answer this answer (RFC 3834 §4, RFC 5321 §4.5.5).
        await notifier.transmit(reply, sender="", to=to)
        store.record_event(self.engine, "help", now=now, detail="answered")
        return Handled("help", "answered with how to subscribe")


def help_text(product: str, list_address: str, base_url: str) -> str:
    """The short reply to ``help``."""
    return (f"To subscribe to {product}, send a mail to {list_address} with the subject\n"
            f"\"subscribe\" and a few words about what you read in the body, e.g.\n"
            f"\"state space models, protein structure prediction\". We will mail you a\n"
            f"link to confirm. You can also subscribe at {base_url.rstrip('/')}/\n\n"
            f"Every digest carries an unsubscribe link; replying \"unsubscribe\" with the\n"
            f"token from that link works too.\n")


def _unanswerable(message: EmailMessage, envelope_from: str | None) -> str | None:
    """Why this mail must not be answered (loop safety), or None."""
    return_path = envelope_from
    if return_path is None and message.get("Return-Path") is not None:
        return_path = str(message.get("Return-Path"))
    if return_path is not None and return_path.strip() in ("", "<>"):
        return "the null sender <> (a bounce or an automatic message)"
    sender = (requests.from_address(message) or "").lower()
    if sender.split("@")[0] in _MACHINES:
        return f"a machine address ({sender.split('@')[0]})"
    if message.get("List-Id") is not None:
        return "mailing-list traffic (List-Id)"
    return None


def _unsubscribe_subject(original: Message) -> EmailMessage:
    """A stand-in message whose subject is the original's List-Unsubscribe mailto
    subject, so the request reader finds the token in it."""
    from urllib.parse import unquote

    stand_in = EmailMessage()
    stand_in["Subject"] = unquote(" ".join(str(original.get("List-Unsubscribe", "")).split()))
    return stand_in

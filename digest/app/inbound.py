"""Use case: unsubscribe by email — the ``mailto:`` target every digest's List-Unsubscribe offers.

A reader's mail client sends a message whose subject is ``unsubscribe <token>`` to the
From address. An MTA alias pipes it to ``digest inbound`` (see the README), which checks
the signed, purpose-bound token and unsubscribes that subscriber. Nothing is replied to the
sender: a forged message learns nothing and can unsubscribe no one.
"""

from __future__ import annotations

import re
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

from digest.app.subscriptions import Subscriptions
from digest.errors import TokenError
from digest.models import Subscriber

# itsdangerous URL-safe tokens: base64url, dots between the parts.
_REQUEST = re.compile(r"\bunsubscribe\s+([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+){2,})", re.IGNORECASE)
MAX_BYTES = 1_000_000  # an unsubscribe request is a few hundred bytes; refuse floods


def requested_token(raw: bytes) -> str | None:
    """The token of an ``unsubscribe <token>`` request: in the subject, or (for clients
    that drop mailto's subject into the body) in the first lines of the plain-text body."""
    message = message_from_bytes(raw[:MAX_BYTES], policy=policy.default)
    assert isinstance(message, EmailMessage)
    found = _REQUEST.search(str(message.get("Subject", "")))
    if found is None:
        body = message.get_body(preferencelist=("plain",))
        if body is not None:
            try:
                text = body.get_content()
            except (LookupError, ValueError):  # an unknown charset or a broken encoding
                text = ""
            found = _REQUEST.search("\n".join(str(text).splitlines()[:20]))
    return found.group(1) if found else None


async def handle_mail(subscriptions: Subscriptions, raw: bytes, *, now: datetime) -> Subscriber:
    """Unsubscribe whoever the request's token names; TokenError when there is no valid one,
    StoreError when the store cannot be reached (the MTA should retry)."""
    token = requested_token(raw)
    if token is None:
        raise TokenError("no 'unsubscribe <token>' request in this message")
    return await subscriptions.unsubscribe(token, now=now)

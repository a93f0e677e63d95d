"""Transactional notices (confirm, welcome, goodbye, export, delete): compose and send one.

Notices bypass the delivery ledger (they answer a request the person just made) but never
go to a suppressed address: not even the deletion confirmation, which can only be asked for
while the address is still on the list, i.e. before it is suppressed. After a deletion
digest sends nothing at all.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from digest.addresses import address_hash
from digest.errors import RenderError
from digest.render import RenderedEmail
from digest.runtime import Runtime
from digest.store.subscribers import is_suppressed

RENDERED_KINDS = ("confirm", "welcome", "goodbye")  # the renderer's notice templates

_SUBJECTS = {
    "confirm": "Confirm your subscription to {product}",
    "welcome": "Welcome to {product}",
    "goodbye": "You are unsubscribed from {product}",
    "export": "Your {product} data",
    "delete": "Confirm deleting your {product} data",
}
_BODIES = {
    "confirm": "Someone (hopefully you) asked to receive {product} at this address.\n"
               "To confirm, open this link and press the button:\n\n{url}\n\n"
               "If it was not you, ignore this email: nothing will be sent without confirmation.",
    "welcome": "You are subscribed to {product}. Your first digest comes with the next "
               "edition.\n\nChange what you get, or how often:\n{url}\n\n"
               "Unsubscribe at any time:\n{unsubscribe}",
    "goodbye": "You will get no more digests from {product}.\n\n"
               "Changed your mind? Subscribe again at:\n{url}",
    "export": "Attached is everything {product} stores about you, as JSON.\n\n"
              "Manage your subscription:\n{url}",
    "delete": "Someone (hopefully you) asked to delete all {product} data for this address.\n"
              "To delete it, open this link and press the button:\n\n{url}\n\n"
              "If it was not you, ignore this email: nothing will change.",
}


def _one_line(value: str) -> str:
    return " ".join(value.replace("\0", " ").split())


def plain_notice(kind: str, *, product: str, action_url: str,
                 extra: Mapping[str, str]) -> RenderedEmail:
    """The fallback text-only notice, used when the renderer has no template for ``kind``."""
    subject = _SUBJECTS[kind].format(product=product)
    text = _BODIES[kind].format(product=product, url=action_url,
                                unsubscribe=extra.get("unsubscribe_url", ""))
    return RenderedEmail(subject=subject, html="", text=text + "\n", preheader="")


def compose_notice(rendered: RenderedEmail, *, to: str, name: str, from_addr: str,
                   from_name: str, now: datetime,
                   attachment: tuple[str, bytes] | None = None) -> EmailMessage:
    # An internationalized local part needs SMTPUTF8 (raw UTF-8 headers); others keep the
    # most compatible encoding.
    msg = EmailMessage(policy=policy.default if to.isascii() else policy.SMTPUTF8)
    msg["Subject"] = _one_line(rendered.subject)
    msg["From"] = Address(_one_line(from_name), addr_spec=from_addr)
    local, _, domain = to.rpartition("@")
    msg["To"] = Address(_one_line(name), username=local, domain=domain)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain=from_addr.rsplit("@", 1)[1])
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to notices
    msg.set_content(rendered.text)
    if rendered.html:
        msg.add_alternative(rendered.html, subtype="html")
    if attachment is not None:
        filename, data = attachment
        msg.add_attachment(data, maintype="application", subtype="json", filename=filename)
    return msg


def build_notice(rt: Runtime, kind: str, *, to: str, name: str, action_url: str,
                 extra: Mapping[str, str] | None = None, now: datetime | None = None,
                 export: Any = None) -> EmailMessage:
    extra = dict(extra or {})
    rendered: RenderedEmail | None = None
    if kind in RENDERED_KINDS:
        try:
            rendered = rt.renderer.render_notice(kind, email=to, name=name,  # type: ignore[arg-type]
                                                 action_url=action_url, extra=extra)
        except RenderError:
            rendered = None
    if rendered is None:
        rendered = plain_notice(kind, product=rt.settings.product_name, action_url=action_url,
                                extra=extra)
    attachment = None
    if export is not None:
        data = json.dumps(export, ensure_ascii=False, indent=2, default=str).encode("utf-8")
        attachment = (f"{rt.settings.product_name}-data.json", data)
    return compose_notice(rendered, to=to, name=name, from_addr=rt.settings.from_address,
                          from_name=rt.settings.from_name, now=now or datetime.now(UTC),
                          attachment=attachment)


async def send_notice(rt: Runtime, kind: str, *, to: str, name: str, action_url: str,
                      extra: Mapping[str, str] | None = None, export: Any = None) -> bool:
    """Send one notice; False (and nothing sent) if the address is suppressed.

    Raises DeliveryError if the transport fails: the caller tells the person to retry.
    """
    if is_suppressed(rt.engine, address_hash(to)):
        return False
    message = build_notice(rt, kind, to=to, name=name, action_url=action_url, extra=extra,
                           export=export)
    transport = rt.transport()
    try:
        await transport.send(message, sender=rt.settings.from_address, recipient=to)
    finally:
        await transport.close()
    return True

"""Use case: transactional notices (confirm, welcome, goodbye, export, delete) — render,
compose and send one.

Notices bypass the delivery ledger (they answer a request the person just made) but never
go to a suppressed address: not even the deletion confirmation, which can only be asked for
while the address is still on the list, i.e. before it is suppressed. After a deletion
digest sends nothing at all.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import TYPE_CHECKING, Any

from digest.addresses import address_hash, wire_address
from digest.send.transport import Transport
from digest.send.verp import Verp
from digest.store import Engine
from digest.store.subscribers import get_subscriber, is_suppressed

if TYPE_CHECKING:  # types only: commands that never mail (subscribers list) skip Jinja and MJML
    from digest.render import RenderedEmail, Renderer
    from digest.render.renderer import NoticeKind


def _one_line(value: str) -> str:
    return " ".join(value.replace("\0", " ").split())


def compose_notice(rendered: RenderedEmail, *, to: str, name: str, from_addr: str,
                   from_name: str, now: datetime,
                   attachment: tuple[str, bytes] | None = None) -> EmailMessage:
    """A notice as a message: text (and HTML) body, ``Auto-Submitted: auto-generated``
    (RFC 3834), and ``attachment`` as (filename, JSON bytes) when given."""
    # Domains go as IDNA A-labels; only a non-ASCII local part needs SMTPUTF8 (raw UTF-8
    # headers), everything else keeps the most compatible encoding.
    to, from_addr = wire_address(to), wire_address(from_addr)
    msg = EmailMessage(policy=policy.default if to.isascii() and from_addr.isascii()
                       else policy.SMTPUTF8)
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


@dataclass(frozen=True, slots=True)
class Notifier:
    """Sends notices: renders them with the renderer's notice templates, never to a
    suppressed address, each through a fresh transport."""

    engine: Engine
    renderer: Renderer
    open_transport: Callable[[], Transport]
    from_address: str
    from_name: str
    product_name: str
    verp: Verp | None = None  # DIGEST_BOUNCE_ADDRESS: the envelope sender names the notice

    def build(self, kind: NoticeKind, *, to: str, name: str, action_url: str,
              extra: Mapping[str, str] | None = None, now: datetime | None = None,
              export: Any = None) -> EmailMessage:
        """The composed notice; ``export`` (JSON-ready data) is attached as a JSON file.
        Raises RenderError when a template fails."""
        rendered = self.renderer.render_notice(kind, email=to, name=name, action_url=action_url,
                                               extra=dict(extra or {}))
        attachment = None
        if export is not None:
            data = json.dumps(export, ensure_ascii=False, indent=2, default=str).encode("utf-8")
            attachment = (f"{self.product_name}-data.json", data)
        return compose_notice(rendered, to=to, name=name, from_addr=self.from_address,
                              from_name=self.from_name, now=now or datetime.now(UTC),
                              attachment=attachment)

    async def send(self, kind: NoticeKind, *, to: str, name: str, action_url: str,
                   extra: Mapping[str, str] | None = None, export: Any = None) -> bool:
        """Send one notice; False (and nothing sent) if the address is suppressed.

        Raises DeliveryError if the transport fails: the caller tells the person to retry.
        """
        if is_suppressed(self.engine, address_hash(to)):
            return False
        message = self.build(kind, to=to, name=name, action_url=action_url, extra=extra,
                             export=export)
        await self.transmit(message, sender=self.envelope_sender(to), to=to)
        return True

    def envelope_sender(self, to: str) -> str:
        """Where a bounce of a notice to ``to`` should go: a VERP address naming the
        subscriber it was for, else the From address."""
        if self.verp is None:
            return self.from_address
        sub = get_subscriber(self.engine, email=to)
        return self.verp.address("notice", sub.id) if sub else self.from_address

    async def transmit(self, message: EmailMessage, *, sender: str, to: str) -> None:
        """Send one composed message from envelope ``sender`` (``""``: the null sender
        ``<>``, for replies that must never be answered, RFC 3834 §4) through a fresh
        transport; raises DeliveryError."""
        transport = self.open_transport()
        try:
            await transport.send(message, sender=sender, recipient=to)
        finally:
            await transport.close()

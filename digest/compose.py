"""Compose MIME messages: multipart/alternative with the bulk-sender headers."""

from __future__ import annotations

import hashlib
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from digest.render import RenderedEmail


def _one_line(value: str) -> str:
    return " ".join(value.replace("\0", " ").split())


def make_message_id(edition_key: str, subscriber_id: int, domain: str) -> str:
    digest = hashlib.sha256(f"{edition_key}/{subscriber_id}".encode()).hexdigest()[:24]
    return f"<{digest}.{subscriber_id}@{domain}>"


def compose_message(rendered: RenderedEmail, *, to_addr: str, to_name: str, from_addr: str,
                    from_name: str, message_id: str, date: datetime, list_id: str,
                    unsubscribe_url: str, unsubscribe_mailto: str | None) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = _one_line(rendered.subject)
    msg["From"] = Address(_one_line(from_name), addr_spec=from_addr)
    msg["To"] = Address(_one_line(to_name), addr_spec=to_addr)
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id
    msg["List-Id"] = list_id
    targets = [f"<{unsubscribe_url}>"] + ([f"<{unsubscribe_mailto}>"] if unsubscribe_mailto else [])
    msg["List-Unsubscribe"] = ", ".join(targets)
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(rendered.text)
    msg.add_alternative(rendered.html, subtype="html")
    return msg

"""Transports deliver one composed message: the protocol, the outbox, and the exact bytes.

Every transport raises DeliveryError whose ``fault`` says whose fault a failure was, so the
delivery loop can tell a bounce from a hiccup or a broken configuration without knowing
which transport it has. SMTP lives in ``send.smtp``.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

from digest.addresses import needs_smtputf8
from digest.errors import SendMisconfigured

__all__ = ["OutboxTransport", "SendReceipt", "Transport", "flatten", "message_bytes",
           "needs_smtputf8"]


@dataclass(frozen=True, slots=True)
class SendReceipt:
    reply: str
    transport: str  # smtp or outbox


class Transport(Protocol):
    name: str
    concurrency: int  # how many sends may usefully run at once

    async def send(self, message: EmailMessage | bytes, *, sender: str, recipient: str,
                   message_id: str | None = None) -> SendReceipt: ...

    async def close(self) -> None: ...


def flatten(message: EmailMessage, *, utf8: bool = False) -> bytes:
    """The exact bytes to transmit (CRLF line ends): what DKIM signs and DATA carries.

    A message whose own policy already writes CRLF (every digest compose builds) keeps it:
    re-flattening with ``policy.SMTP`` would refold its headers at 78 columns and turn the
    long List-Unsubscribe URL into RFC 2047 encoded-words, which mailbox providers do not
    decode there, so one-click unsubscribe would silently stop working.
    """
    own = message.policy
    if getattr(own, "linesep", "\n") == "\r\n" and (
        own.utf8 or not utf8  # type: ignore[attr-defined]  # EmailPolicy has utf8; typeshed's .policy is Policy
    ):
        return message.as_bytes()
    return message.as_bytes(policy=policy.SMTPUTF8 if utf8 else policy.SMTP)


def message_bytes(message: EmailMessage | bytes, message_id: str | None,
                  utf8: bool) -> tuple[bytes, str]:
    """The bytes to transmit and the Message-ID, for a message or bytes already flat."""
    if isinstance(message, EmailMessage):
        return flatten(message, utf8=utf8), message_id or str(message["Message-ID"])
    return message, message_id or ""


MAX_NAME = 200  # bytes before ".eml": most file systems allow 255 per name
_DIGEST_ID = re.compile(r"[0-9a-f]{24}\.([A-Za-z0-9][A-Za-z0-9.-]*)\.\d+")  # make_message_id


def outbox_name(message_id: str, recipient: str) -> str:
    """``<edition>-<address>.eml`` (``weekly-2026-W49-ada@example.org.eml``) so a person can
    tell whose message is whose; the edition is the label inside digest's Message-ID
    (``<hash.edition.subscriber@domain>``, ``compose.make_message_id``), or the whole id's
    left part for other mail. Percent-encoded outside ``A-Z a-z 0-9 . _ @ + -`` (no path
    separators, control characters or a leading dot), so two names never collide; past
    ``MAX_NAME`` bytes it is cut and a hash of the whole name keeps it unique."""
    left = message_id.strip().strip("<>").rsplit("@", 1)[0]
    ours = _DIGEST_ID.fullmatch(left)
    edition = ours.group(1) if ours else (left or "message")
    name = quote(f"{edition}-{recipient.strip()}", safe="@+-_.")
    if name.startswith("."):
        name = "%2E" + name[1:]
    if len(name) > MAX_NAME:
        name = name[:MAX_NAME - 17] + "~" + hashlib.sha256(name.encode()).hexdigest()[:16]
    return name + ".eml"


class OutboxTransport:
    """Writes each message as ``<edition>-<address>.eml`` (``outbox_name``): a rerun
    overwrites, never duplicates."""

    name = "outbox"
    concurrency = 1

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def send(self, message: EmailMessage | bytes, *, sender: str, recipient: str,
                   message_id: str | None = None) -> SendReceipt:
        data, mid = message_bytes(message, message_id, needs_smtputf8(sender, recipient))
        path = self.directory / outbox_name(mid, recipient)
        try:
            await asyncio.to_thread(_write_atomic, path, data)
        except OSError as exc:
            # No message can be written either: that is the setup, not this message.
            raise SendMisconfigured(f"cannot write to the outbox {self.directory} "
                              f"(DIGEST_OUTBOX_DIR): {type(exc).__name__}: "
                              f"{exc.strerror or exc}") from exc
        return SendReceipt(reply=f"written {path}", transport=self.name)

    async def close(self) -> None:
        return None


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".eml.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)

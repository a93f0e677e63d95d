"""Transports deliver one composed message: over SMTP (aiosmtplib) or into the outbox.

Both raise DeliveryError with ``permanent`` set for 5xx rejections, so the delivery loop
can tell a bounce from a hiccup without knowing which transport it has.
"""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

import aiosmtplib

from digest.config import SmtpSettings
from digest.errors import DeliveryError


@dataclass(frozen=True, slots=True)
class SendReceipt:
    reply: str
    transport: str  # smtp or outbox


class Transport(Protocol):
    name: str

    async def send(self, message: EmailMessage, *, sender: str, recipient: str) -> SendReceipt: ...

    async def close(self) -> None: ...


class OutboxTransport:
    """Writes each message as ``<message-id>.eml``: a rerun overwrites, never duplicates."""

    name = "outbox"

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def send(self, message: EmailMessage, *, sender: str, recipient: str) -> SendReceipt:
        stem = re.sub(r"[^A-Za-z0-9._-]", "_", str(message["Message-ID"]).strip("<>"))
        path = self.directory / f"{stem}.eml"
        data = message.as_bytes()
        await asyncio.to_thread(_write_atomic, path, data)
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


class SmtpTransport:
    """A small pool of reused SMTP connections with per-connection message caps."""

    name = "smtp"

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._idle: asyncio.Queue[tuple[aiosmtplib.SMTP, int]] = asyncio.Queue()
        self._slots = asyncio.Semaphore(settings.pool_size)

    async def _connect(self) -> aiosmtplib.SMTP:
        s = self.settings
        client = aiosmtplib.SMTP(
            hostname=s.host, port=s.port, timeout=s.timeout, use_tls=s.security == "tls",
            start_tls=s.security == "starttls",
        )
        await client.connect()
        if s.username:
            await client.login(s.username, s.password.get_secret_value() if s.password else "")
        return client

    async def send(self, message: EmailMessage, *, sender: str, recipient: str) -> SendReceipt:
        async with self._slots:
            client, used = await self._checkout()
            try:
                _errors, reply = await client.send_message(
                    message, sender=sender, recipients=[recipient]
                )
            except aiosmtplib.SMTPRecipientsRefused as exc:
                await self._checkin(client, used + 1)
                refusal = exc.recipients[0] if exc.recipients else None
                code = refusal.code if refusal else 550
                raise DeliveryError(f"{code} {refusal.message if refusal else exc}",
                                    permanent=500 <= code < 600, code=code) from exc
            except aiosmtplib.SMTPResponseException as exc:
                await self._discard(client, reset=exc.code != 421)
                raise DeliveryError(f"{exc.code} {exc.message}", permanent=500 <= exc.code < 600,
                                    code=exc.code) from exc
            except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
                await self._discard(client, reset=False)
                raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
            await self._checkin(client, used + 1)
            return SendReceipt(reply=reply, transport=self.name)

    async def _checkout(self) -> tuple[aiosmtplib.SMTP, int]:
        while not self._idle.empty():
            client, used = self._idle.get_nowait()
            if client.is_connected:
                return client, used
        try:
            return await self._connect(), 0
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"cannot connect to {self.settings.host}:{self.settings.port}: "
                                f"{exc}") from exc

    async def _checkin(self, client: aiosmtplib.SMTP, used: int) -> None:
        if used >= self.settings.max_per_connection or not client.is_connected:
            await self._discard(client, reset=False)
            return
        try:
            await client.rset()
        except (TimeoutError, aiosmtplib.SMTPException, OSError):
            await self._discard(client, reset=False)
            return
        self._idle.put_nowait((client, used))

    async def _discard(self, client: aiosmtplib.SMTP, *, reset: bool) -> None:
        try:
            if client.is_connected:
                await client.quit()
        except (TimeoutError, aiosmtplib.SMTPException, OSError):
            client.close()

    async def close(self) -> None:
        while not self._idle.empty():
            client, _ = self._idle.get_nowait()
            await self._discard(client, reset=False)

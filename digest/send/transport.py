"""Transports deliver one composed message: over SMTP (aiosmtplib) or into the outbox.

Both raise DeliveryError; ``permanent`` is set only when the server rejected this recipient
or this message for good (5xx to RCPT or DATA), so the delivery loop can tell a bounce from
a hiccup or a broken configuration without knowing which transport it has.
"""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

import aiosmtplib

from digest.config import SmtpSettings
from digest.errors import DeliveryError, SendAborted

NETWORK_ERRORS = (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError)


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


def needs_smtputf8(*addresses: str) -> bool:
    return not all(a.isascii() for a in addresses)


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


def _bytes_and_id(message: EmailMessage | bytes, message_id: str | None,
                  utf8: bool) -> tuple[bytes, str]:
    if isinstance(message, EmailMessage):
        return flatten(message, utf8=utf8), message_id or str(message["Message-ID"])
    return message, message_id or ""


class OutboxTransport:
    """Writes each message as ``<message-id>.eml``: a rerun overwrites, never duplicates."""

    name = "outbox"
    concurrency = 1

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def send(self, message: EmailMessage | bytes, *, sender: str, recipient: str,
                   message_id: str | None = None) -> SendReceipt:
        data, mid = _bytes_and_id(message, message_id, needs_smtputf8(sender, recipient))
        stem = re.sub(r"[^A-Za-z0-9._-]", "_", (mid or recipient).strip("<>"))
        path = self.directory / f"{stem}.eml"
        try:
            await asyncio.to_thread(_write_atomic, path, data)
        except OSError as exc:
            # No message can be written either: that is the setup, not this message.
            raise SendAborted(f"cannot write to the outbox {self.directory} "
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


# Which step a server refused, and whether a 5xx there condemns this recipient (a refused
# sender is our configuration, not the recipient's mailbox).
_STAGES: tuple[tuple[type[aiosmtplib.SMTPResponseException], str, bool], ...] = (
    (aiosmtplib.SMTPRecipientRefused, "RCPT ", True),
    (aiosmtplib.SMTPSenderRefused, "MAIL FROM ", False),
    (aiosmtplib.SMTPDataError, "DATA ", True),
)


def _refused(exc: aiosmtplib.SMTPResponseException) -> DeliveryError:
    stage, bounces = next(((s, b) for t, s, b in _STAGES if isinstance(exc, t)), ("", False))
    return DeliveryError(f"{stage}{exc.code} {exc.message}",
                         permanent=bounces and 500 <= exc.code < 600, code=exc.code)


IDLE_CHECK_SECONDS = 5.0  # a connection idle longer than this is re-checked before use


@dataclass(slots=True)
class _Connection:
    client: aiosmtplib.SMTP
    used: int = 0
    reset: asyncio.Task[bool] | None = None  # the RSET sent after its last message
    idle_since: float = 0.0


async def _transaction(client: aiosmtplib.SMTP, data: bytes, *, sender: str, recipient: str,
                       utf8: bool) -> str:
    """One MAIL/RCPT/DATA exchange; returns the server's reply to the message.

    ``sendmail`` would scan the whole message once more just to compute SIZE; our bytes
    come from ``flatten`` (CRLF throughout, or DKIM-signed from it), so their length is
    already the RFC 1870 size. A failed transaction leaves the envelope open: the pool
    RSETs every connection before reuse.
    """
    if utf8 and not client.supports_extension("smtputf8"):
        raise aiosmtplib.SMTPNotSupported("SMTPUTF8 is not supported by this server")
    options = ["SMTPUTF8"] if utf8 else []
    if client.supports_extension("size"):
        options.insert(0, f"SIZE={len(data)}")
    encoding = "utf-8" if utf8 else "ascii"
    await client.mail(sender, options=options, encoding=encoding)
    await client.rcpt(recipient, encoding=encoding)
    return (await client.data(data)).message


class SmtpTransport:
    """A pool of reused SMTP connections: at most ``pool_size`` open, each sending up to
    ``max_per_connection`` messages, checked with RSET before reuse, replaced when the
    server says 421 or the connection drops."""

    name = "smtp"

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self.concurrency = settings.pool_size
        self._idle: list[_Connection] = []
        self._slots = asyncio.Semaphore(settings.pool_size)

    async def _connect(self) -> _Connection:
        s = self.settings
        client = aiosmtplib.SMTP(
            hostname=s.host, port=s.port, timeout=s.timeout, use_tls=s.security == "tls",
            start_tls=s.security == "starttls", validate_certs=s.validate_certs,
            local_hostname=s.local_hostname,
        )
        try:
            await client.connect()
            if client.is_ehlo_or_helo_needed:  # greet now: each message checks extensions
                try:
                    await client.ehlo()
                except aiosmtplib.SMTPHeloError:
                    await client.helo()
            if s.username:
                await client.login(s.username,
                                   s.password.get_secret_value() if s.password else "")
        except aiosmtplib.SMTPAuthenticationError as exc:
            client.close()
            raise DeliveryError(f"SMTP login as {s.username!r} refused: {exc.code} "
                                f"{exc.message} (check DIGEST_SMTP__USERNAME/PASSWORD)",
                                code=exc.code) from exc
        except NETWORK_ERRORS as exc:
            client.close()
            raise DeliveryError(f"cannot connect to {s.host}:{s.port} ({s.security}): "
                                f"{type(exc).__name__}: {exc}") from exc
        return _Connection(client)

    @staticmethod
    async def _rset(conn: _Connection) -> bool:
        try:
            await conn.client.rset()
            return True
        except NETWORK_ERRORS:
            conn.client.close()
            return False

    async def _checkout(self) -> _Connection:
        while self._idle:
            conn = self._idle.pop()
            reset, conn.reset = conn.reset, None
            if reset is not None and not await reset:
                continue
            if loop_time() - conn.idle_since > IDLE_CHECK_SECONDS and not await self._rset(conn):
                continue  # died while idle (server timeout): a reconnect, not a failure
            if conn.client.is_connected:
                return conn
        return await self._connect()

    async def _checkin(self, conn: _Connection) -> None:
        if not conn.client.is_connected:
            conn.client.close()
        elif conn.used >= self.settings.max_per_connection:
            await self._quit(conn)
        else:
            # RSET between messages clears any envelope state and proves the connection
            # still lives; sent now, its round trip overlaps the ledger commit.
            conn.reset = asyncio.create_task(self._rset(conn))
            conn.idle_since = loop_time()
            self._idle.append(conn)

    async def _quit(self, conn: _Connection) -> None:
        try:
            if conn.client.is_connected:
                await conn.client.quit()
        except NETWORK_ERRORS:
            pass
        finally:
            conn.client.close()

    async def send(self, message: EmailMessage | bytes, *, sender: str, recipient: str,
                   message_id: str | None = None) -> SendReceipt:
        utf8 = needs_smtputf8(sender, recipient)
        data, _ = _bytes_and_id(message, message_id, utf8)
        async with self._slots:
            conn = await self._checkout()
            conn.used += 1
            keep = True
            try:
                reply = await _transaction(conn.client, data, sender=sender,
                                           recipient=recipient, utf8=utf8)
            except (ValueError, aiosmtplib.SMTPNotSupported) as exc:
                # An address aiosmtplib cannot put on the wire (or SMTPUTF8 the relay
                # lacks): retrying cannot help.
                raise DeliveryError(f"cannot send to {recipient!r}: {exc}",
                                    permanent=True) from exc
            except aiosmtplib.SMTPResponseException as exc:
                keep = exc.code != 421  # 421: the server is closing this connection
                raise _refused(exc) from exc
            except NETWORK_ERRORS as exc:
                keep = False
                raise DeliveryError(f"{type(exc).__name__}: {exc or 'connection lost'}") from exc
            finally:
                if keep:
                    await self._checkin(conn)
                else:
                    await self._quit(conn)
            return SendReceipt(reply=f"250 {reply}", transport=self.name)

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        await asyncio.gather(*(c.reset for c in idle if c.reset), return_exceptions=True)
        await asyncio.gather(*(self._quit(conn) for conn in idle))


def loop_time() -> float:
    return asyncio.get_running_loop().time()

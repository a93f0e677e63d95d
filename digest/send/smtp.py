"""SMTP delivery over a pool of reused aiosmtplib connections, with three clocks: one to
open a session, one per command, and a long one for the reply to the end of DATA.

A refusal becomes an ``SmtpRefusal`` (who is at fault: send.replies); a session that cannot
be opened becomes a ``connection`` DeliveryError that names the setting (send.diagnosis);
a lost or late reply to the end of DATA becomes ``unknown``: the server may have the message,
so the delivery loop must not simply send it again.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib

from digest.addresses import needs_smtputf8, wire_address
from digest.config import SmtpSettings
from digest.errors import AddressError, DeliveryError
from digest.send.diagnosis import connection_error
from digest.send.replies import SmtpRefusal, parse_reply
from digest.send.transport import SendReceipt, message_bytes

NETWORK_ERRORS = (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError)
IDLE_CHECK_SECONDS = 5.0  # a connection idle longer than this is re-checked before use
_LEADING_DOT = re.compile(rb"(?m)^\.")  # RFC 5321 §4.5.2 transparency


@dataclass(slots=True)
class _Connection:
    client: aiosmtplib.SMTP
    used: int = 0
    reset: asyncio.Task[bool] | None = None  # the RSET sent after its last message
    idle_since: float = 0.0


def _refusal(stage: str, exc: aiosmtplib.SMTPResponseException) -> SmtpRefusal:
    return SmtpRefusal(stage, parse_reply(exc.code, exc.message))  # type: ignore[arg-type]


async def _data(client: aiosmtplib.SMTP, data: bytes, *, final_timeout: float) -> str:
    """DATA, the message, and the final reply, waited for up to ``final_timeout`` s (RFC 5321
    §4.5.3.2.6 suggests 10 minutes: the server may be scanning or relaying the message).

    aiosmtplib's ``data()`` bounds both replies with one timeout and cannot say whether the
    message had been sent when it gave up; this does the exchange itself to know that.
    """
    start = await client.execute_command(b"DATA")  # the command timeout
    if start.code != 354:
        raise SmtpRefusal("data", parse_reply(start.code, start.message))
    protocol = client.protocol
    if protocol is None:
        raise aiosmtplib.SMTPServerDisconnected("connection lost before the message")
    payload = _LEADING_DOT.sub(b"..", data)
    if not payload.endswith(b"\r\n"):
        payload += b"\r\n"
    protocol.write(payload + b".\r\n")  # raises if the connection is already gone
    try:
        reply = await protocol.read_response(timeout=final_timeout)
    except (aiosmtplib.SMTPTimeoutError, aiosmtplib.SMTPServerDisconnected, OSError) as exc:
        client.close()
        why = (f"no reply within {final_timeout:g} s" if isinstance(exc, TimeoutError)
               else "the connection was lost")
        raise DeliveryError(f"outcome unknown: the whole message was sent but {why} to the "
                            "end of DATA; the server may have accepted it "
                            "(DIGEST_SMTP__DATA_TIMEOUT)", fault="unknown") from exc
    if reply.code != 250:
        if reply.code == 421:
            client.close()
        raise SmtpRefusal("data", parse_reply(reply.code, reply.message))
    return reply.message


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

    async def _open(self, *, helo_only: bool) -> aiosmtplib.SMTP:
        s = self.settings
        client = aiosmtplib.SMTP(
            hostname=s.host, port=s.port, timeout=s.timeout, use_tls=s.security == "tls",
            start_tls=s.security == "starttls" and not helo_only,
            validate_certs=s.validate_certs, local_hostname=s.local_hostname)
        try:
            await client.connect(timeout=s.connect_timeout)
            if helo_only:
                await client.helo()
            elif client.is_ehlo_or_helo_needed:  # greet now: each message checks extensions
                try:
                    await client.ehlo()
                except aiosmtplib.SMTPHeloError:
                    await client.helo()
            if s.username:
                await client.login(s.username,
                                   s.password.get_secret_value() if s.password else "")
        except BaseException:
            client.close()
            raise
        return client

    async def _connect(self) -> _Connection:
        try:
            try:
                client = await self._open(helo_only=False)
            except aiosmtplib.SMTPResponseException as exc:
                if exc.code != -1 or self.settings.security == "starttls":
                    raise
                # A malformed EHLO reply (a blank line, field case 05): RFC 5321 §4.1.4
                # lets a client fall back to HELO, on a fresh connection so nothing of the
                # broken reply is left in the buffer.
                client = await self._open(helo_only=True)
        except NETWORK_ERRORS as exc:
            raise connection_error(exc, self.settings) from exc
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

    async def _transaction(self, client: aiosmtplib.SMTP, data: bytes, *, sender: str,
                           recipient: str, utf8: bool) -> str:
        """One MAIL/RCPT/DATA exchange; returns the server's reply to the message.

        The bytes come from ``flatten`` (CRLF throughout, or DKIM-signed from it), so their
        length is already the RFC 1870 SIZE. A failed transaction leaves the envelope open:
        the pool RSETs every connection before reuse.
        """
        if utf8 and not client.supports_extension("smtputf8"):
            raise DeliveryError(
                f"{recipient!r} has a non-ASCII local part, which needs SMTPUTF8 (RFC 6531), "
                f"and the server {self.settings.host}:{self.settings.port} does not offer it; "
                "this message cannot go through this relay", fault="local")
        options = ["SMTPUTF8"] if utf8 else []
        if client.supports_extension("size"):
            options.insert(0, f"SIZE={len(data)}")
        encoding = "utf-8" if utf8 else "ascii"
        try:
            await client.mail(sender, options=options, encoding=encoding)
        except aiosmtplib.SMTPResponseException as exc:
            raise _refusal("mail", exc) from exc
        try:
            await client.rcpt(recipient, encoding=encoding)
        except aiosmtplib.SMTPResponseException as exc:
            raise _refusal("rcpt", exc) from exc
        return await _data(client, data, final_timeout=self.settings.data_timeout)

    async def send(self, message: EmailMessage | bytes, *, sender: str, recipient: str,
                   message_id: str | None = None) -> SendReceipt:
        """Send one message; raises DeliveryError (``fault`` says whose fault it was)."""
        try:
            envelope_from, envelope_to = wire_address(sender), wire_address(recipient)
        except AddressError as exc:
            raise DeliveryError(f"cannot send to {recipient!r}: {exc}", fault="local") from exc
        utf8 = needs_smtputf8(envelope_from, envelope_to)
        data, _ = message_bytes(message, message_id, utf8)
        async with self._slots:
            conn = await self._checkout()
            conn.used += 1
            try:
                reply = await self._transaction(conn.client, data, sender=envelope_from,
                                                recipient=envelope_to, utf8=utf8)
            except ValueError as exc:  # an address aiosmtplib cannot put on the wire
                raise DeliveryError(f"cannot send to {recipient!r}: {exc}",
                                    fault="local") from exc
            except NETWORK_ERRORS as exc:
                conn.client.close()  # lost mid-transaction: never reuse it
                raise DeliveryError(f"{type(exc).__name__}: {exc or 'connection lost'}",
                                    fault="transient") from exc
            finally:
                await self._checkin(conn)
            return SendReceipt(reply=f"250 {' '.join(reply.split())}", transport=self.name)

    async def close(self) -> None:
        """Say QUIT on every idle connection."""
        idle, self._idle = self._idle, []
        await asyncio.gather(*(c.reset for c in idle if c.reset), return_exceptions=True)
        await asyncio.gather(*(self._quit(conn) for conn in idle))


def loop_time() -> float:
    return asyncio.get_running_loop().time()

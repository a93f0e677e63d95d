"""A real SMTP server for tests (aiosmtpd on 127.0.0.1) that can script replies.

``ScriptedHandler.script[address] = ["451 4.3.0 try later", "250"]`` makes successive
RCPT attempts for that address get those replies; ``"drop"`` closes the connection, and a
``"421 ..."`` reply is followed by closing it, as real servers do. ``data_script`` does the
same at the end of DATA, and ``slow[address] = [5.0, 0.0]`` delays successive DATA replies
for that address (``data_delay`` delays every one; ``hold`` parks them all until set). A
message counts as received only if the client was still connected to hear the 250: a
client that timed out never delivered
(``keep_abandoned`` counts those too, like a server that delivers whatever it fully read).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, Self

from aiosmtpd.controller import Controller


def free_port() -> int:
    """aiosmtpd cannot bind port 0, so ask the OS for a free port first."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)  # type: ignore[return-value]


def _close_soon(server: Any) -> None:
    # Close after the reply just queued has been written (asyncio flushes on close).
    asyncio.get_running_loop().call_soon(server.transport.close)


@dataclass
class ScriptedHandler:
    script: dict[str, list[str]] = field(default_factory=dict)
    data_delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lock: threading.Lock = field(default_factory=threading.Lock)
    data_script: dict[str, list[str]] = field(default_factory=dict)
    slow: dict[str, list[float]] = field(default_factory=dict)
    connections: int = 0
    hold: threading.Event | None = None  # DATA replies wait until this is set
    keep_abandoned: bool = False  # count messages whose client left before our 250

    def _pop(self, table: dict[str, list[Any]], address: str) -> Any:
        with self.lock:
            queue = table.get(address)
            return queue.pop(0) if queue else None

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,
                          responses: list[str]) -> list[str]:
        with self.lock:
            self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        with self.lock:
            self.attempts[address] += 1
        reply = self._pop(self.script, address) or "250 OK"
        if reply == "drop":
            server.transport.close()
            return "421 4.4.2 closing"
        if reply.startswith("421"):
            _close_soon(server)
            return reply
        if not reply.startswith("250"):
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        rcpts = list(envelope.rcpt_tos)
        delay = self.data_delay
        for address in rcpts:
            delay = max(delay, self._pop(self.slow, address) or 0.0)
        if delay:
            await asyncio.sleep(delay)
        while self.hold is not None and not self.hold.is_set():
            await asyncio.sleep(0.01)
        for address in rcpts:
            reply = self._pop(self.data_script, address)
            if reply == "drop":
                server.transport.close()
                return "421 4.4.2 closing"
            if reply and reply.startswith("421"):
                _close_soon(server)
                return reply
            if reply and not reply.startswith("250"):
                return reply
        gone = server.transport is None or server.transport.is_closing()
        if gone and not self.keep_abandoned:
            return "421 4.4.2 client went away"  # nobody hears this: not delivered
        with self.lock:
            self.received.append(Received(envelope.mail_from, rcpts, bytes(envelope.content)))
        return "250 2.0.0 queued"

    def to(self, address: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if address in r.recipients]

    def counts(self) -> dict[str, int]:
        """Messages received per recipient address."""
        out: dict[str, int] = defaultdict(int)
        with self.lock:
            for r in self.received:
                for address in r.recipients:
                    out[address] += 1
        return dict(out)


class SmtpSink:
    """Starts/stops the server; ``host``/``port`` for the settings."""

    def __init__(self, handler: ScriptedHandler | None = None, **controller: Any) -> None:
        self.handler = handler or ScriptedHandler()
        self.host = "127.0.0.1"
        self.port = free_port()
        self.controller = Controller(self.handler, hostname=self.host, port=self.port,
                                     **controller)

    def __enter__(self) -> Self:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

"""A real SMTP server for tests (aiosmtpd on 127.0.0.1) that can script replies.

``ScriptedHandler.script[address] = ["451 4.3.0 try later", "250"]`` makes successive
RCPT attempts for that address get those replies; ``"drop"`` closes the connection.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

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


@dataclass
class ScriptedHandler:
    script: dict[str, list[str]] = field(default_factory=dict)
    data_delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        with self.lock:
            self.attempts[address] += 1
            queue = self.script.get(address)
            reply = queue.pop(0) if queue else "250 OK"
        if reply == "drop":
            session.transport.close()
            return "421 4.4.2 closing"
        if not reply.startswith("250"):
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_delay:
            time.sleep(self.data_delay)
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                          bytes(envelope.content)))
        return "250 2.0.0 queued"

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.recipients]


class SmtpSink:
    """Starts/stops the server; ``host``/``port`` for the settings."""

    def __init__(self, handler: ScriptedHandler | None = None) -> None:
        self.handler = handler or ScriptedHandler()
        self.host = "127.0.0.1"
        self.port = free_port()
        self.controller = Controller(self.handler, hostname=self.host, port=self.port)

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

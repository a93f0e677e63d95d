"""A raw SMTP server for tests that must control every byte a real MTA sends: multi-line
banners and rejections, code-only replies, silence, a late answer to the end of DATA (and
it keeps a message it fully read even when the client left before the answer, as MTAs do).

aiosmtpd formats replies itself; this one writes exactly the bytes it is given. Replies are
looked up per stage (``greeting``, ``ehlo``, ``mail``, ``rcpt``, ``data``) and may be a list
(one per use, the last repeating). ``data_delay`` holds the final reply to DATA that many
seconds; ``slow[recipient]`` overrides it per attempt. Everything received is kept:
``commands`` and ``messages`` (envelope and bytes).
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Self

from tests.smtp_sink import free_port

EHLO_PLAIN = (b"250-mx.example.net Hello client [127.0.0.1]\r\n250-SIZE 52428800\r\n"
              b"250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250 HELP\r\n")


@dataclass
class Received:
    sender: str
    recipient: str
    data: bytes
    answered: bool  # False: the client had gone before the final reply was written


@dataclass
class RawMta:
    replies: dict[str, bytes | list[bytes]] = field(default_factory=dict)
    data_delay: float = 0.0
    slow: dict[str, list[float]] = field(default_factory=dict)  # per recipient, per attempt
    commands: list[str] = field(default_factory=list)
    messages: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.host, self.port = "127.0.0.1", free_port()
        self._used: dict[str, int] = {}
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._server: asyncio.Server | None = None

    def reply(self, stage: str, default: bytes) -> bytes:
        got = self.replies.get(stage)
        if got is None:
            return default
        if isinstance(got, bytes):
            return got
        with self._lock:
            n = self._used.get(stage, 0)
            self._used[stage] = n + 1
        return got[min(n, len(got) - 1)]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sender = recipient = ""
        try:
            writer.write(self.reply("greeting", b"220 mx.example.net ESMTP\r\n"))
            await writer.drain()
            while line := await reader.readline():
                command = line.decode("utf-8", "replace").strip()
                upper = command.upper()
                with self._lock:
                    self.commands.append(command)
                if upper.startswith("EHLO"):
                    writer.write(self.reply("ehlo", EHLO_PLAIN))
                elif upper.startswith("HELO"):
                    writer.write(self.reply("helo", b"250 mx.example.net\r\n"))
                elif upper.startswith("MAIL FROM"):
                    sender = command.split(":", 1)[1].split()[0].strip("<>")
                    writer.write(self.reply("mail", b"250 2.1.0 OK\r\n"))
                elif upper.startswith("RCPT TO"):
                    recipient = command.split(":", 1)[1].split()[0].strip("<>")
                    writer.write(self.reply("rcpt", b"250 2.1.5 OK\r\n"))
                elif upper == "DATA":
                    writer.write(b"354 Go ahead\r\n")
                    await writer.drain()
                    body = bytearray()
                    while (chunk := await reader.readline()) not in (b".\r\n", b""):
                        body += chunk
                    answer = self.reply("data", b"250 2.0.0 OK queued\r\n")
                    kept = Received(sender, recipient, bytes(body), answered=False)
                    with self._lock:
                        queue = self.slow.get(recipient)
                        delay = queue.pop(0) if queue else self.data_delay
                        if answer.startswith(b"250"):  # kept once fully read, like an MTA
                            self.messages.append(kept)
                    if delay:
                        await asyncio.sleep(delay)
                    kept.answered = not (writer.is_closing() or reader.at_eof())
                    writer.write(answer)
                elif upper == "RSET":
                    writer.write(b"250 2.0.0 Flushed\r\n")
                elif upper == "NOOP":
                    writer.write(b"250 2.0.0 OK\r\n")
                elif upper == "QUIT":
                    writer.write(b"221 2.0.0 Bye\r\n")
                    await writer.drain()
                    break
                else:
                    writer.write(b"502 5.5.1 Unrecognized command\r\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # the client left, or the server is shutting down
        finally:
            writer.close()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def start() -> None:
            self._server = await asyncio.start_server(self._handle, self.host, self.port)
            self._ready.set()

        self._loop.run_until_complete(start())
        self._loop.run_forever()

    def __enter__(self) -> Self:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the raw SMTP server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def recipients(self) -> list[str]:
        with self._lock:
            return [m.recipient for m in self.messages]

    def counts(self) -> dict[str, int]:
        """Messages fully received per recipient, answered or not."""
        with self._lock:
            out: dict[str, int] = {}
            for m in self.messages:
                out[m.recipient] = out.get(m.recipient, 0) + 1
            return out

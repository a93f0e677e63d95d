"""The long-running process (``digest run``): the web app under uvicorn, the send loop on
every node, and the scheduler on the one node that holds leadership — one asyncio loop.

SIGTERM/SIGINT: stop taking work, finish the message on the wire, release the rest of the
claimed deliveries, close the web server, give up leadership, exit 0 within the bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import uvicorn
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from starlette.types import ASGIApp

from digest.runtime import Runtime
from digest.schedule.leadership import Leadership
from digest.schedule.scheduler import build_scheduler
from digest.schedule.threads import in_daemon_thread

log = logging.getLogger("digest.service")


def _utcnow() -> datetime:
    return datetime.now(UTC)


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the service owns SIGTERM/SIGINT and tells
    the server when to stop (uvicorn would otherwise re-raise the signal on exit)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    def install_signal_handlers(self) -> None:  # uvicorn < 0.29
        return None


class Service:
    """The web app, the send loop and (while leading) the scheduler, in one event loop."""

    def __init__(self, rt: Runtime, web_app: ASGIApp, *, host: str, port: int,
                 clock: Callable[[], datetime] = _utcnow,
                 leadership: Leadership | None = None) -> None:
        self.rt = rt
        self.clock = clock
        self.settings = rt.settings.schedule
        self.leadership = leadership or rt.leadership()
        self.sender = rt.sender(clock)
        # Fetch and plan in a child process each: this process stays light (schedule/child).
        self.jobs = rt.scheduled_jobs(self.sender, clock, in_child=True)
        self.scheduler: AsyncIOScheduler | None = None
        self.stop_event = asyncio.Event()
        config = uvicorn.Config(web_app, host=host, port=port, log_config=None,
                                proxy_headers=False, server_header=False,
                                timeout_graceful_shutdown=max(1, int(self._bound() / 2)))
        self.server = _Server(config)

    async def _serve_web(self) -> None:
        try:
            await self.server.serve()
        except SystemExit:  # uvicorn exits when it cannot bind; it has logged why
            return

    def _bound(self) -> float:
        return self.settings.shutdown_timeout.total_seconds()

    @property
    def is_leader(self) -> bool:
        return self.scheduler is not None

    def request_stop(self) -> None:
        self.stop_event.set()

    async def _lead(self) -> None:
        retry = self.settings.leader_retry.total_seconds()
        while not self.stop_event.is_set():
            if self.scheduler is None:
                if await in_daemon_thread(self.leadership.acquire):
                    if self.stop_event.is_set():  # won the lock while shutting down
                        break
                    self.scheduler = build_scheduler(
                        self.jobs.table(), misfire_grace=self.settings.misfire_grace,
                        now=self.clock())
                    self.scheduler.start()
                    log.info('{"event": "leader", "state": "acquired", "owner": "%s"}',
                             self.sender.owner)
            elif not await in_daemon_thread(self.leadership.alive):
                self._stop_scheduler()
                log.warning('{"event": "leader", "state": "lost", "owner": "%s"}',
                            self.sender.owner)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop_event.wait(), retry)

    def _stop_scheduler(self) -> None:
        if self.scheduler is not None:
            with contextlib.suppress(Exception):
                self.scheduler.shutdown(wait=False)
            self.scheduler = None

    async def _listen(self) -> asyncio.Server | None:
        """The inbound SMTP listener when DIGEST_INBOUND__LISTEN is set (else None)."""
        listen = self.rt.settings.inbound.listen
        if not listen:
            return None
        from digest.send.listener import InboundHandler, start_listener

        inbound = self.rt.inbound
        handler = InboundHandler(inbound.accepts, inbound.handle_envelope)
        domain = self.rt.settings.from_address.rpartition("@")[2]
        server = await start_listener(listen, handler,
                                      max_bytes=self.rt.settings.inbound.max_bytes,
                                      hostname=domain)
        log.info('{"event": "inbound_listening", "on": "%s"}', listen)
        return server

    async def run(self) -> int:
        """Serve until asked to stop; returns the exit code."""
        try:
            listener = await self._listen()
        except OSError as exc:
            log.error('{"event": "inbound_not_listening", "error": "%s"}',
                      str(exc).replace('"', "'"))
            return 1
        try:
            return await self._run()
        finally:
            if listener is not None:
                listener.close()
                await listener.wait_closed()

    async def _run(self) -> int:
        web = asyncio.create_task(self._serve_web(), name="web")
        lead = asyncio.create_task(self._lead(), name="leader")
        send = asyncio.create_task(self.sender.run(self.settings.deliver_interval), name="send")
        stopper = asyncio.create_task(self.stop_event.wait())
        await asyncio.wait({web, stopper}, return_when=asyncio.FIRST_COMPLETED)
        code = 0
        if web.done() and not self.stop_event.is_set():
            log.error('{"event": "web_stopped", "detail": "the web server could not start '
                      '(see the error above) or stopped; shutting down"}')
            code = 1
        await self._shutdown(web, lead, send)
        stopper.cancel()
        return code

    async def _shutdown(self, web: asyncio.Task[Any], lead: asyncio.Task[Any],
                        send: asyncio.Task[Any]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._bound()
        self.stop_event.set()
        self._stop_scheduler()  # no new job runs; a running one sees sender.stopping
        released = await self.sender.stop(timeout=max(0.5, (deadline - loop.time()) * 0.6))
        self.server.should_exit = True
        for task in (web, lead, send):
            remaining = max(0.1, deadline - loop.time())
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(task, remaining)
        self._stop_scheduler()  # in case leadership was won during the shutdown
        await in_daemon_thread(self.leadership.release)
        log.info('{"event": "stopped", "released": %d}', released)


async def serve(rt: Runtime, web_app: ASGIApp, *, host: str, port: int,
                clock: Callable[[], datetime] = _utcnow) -> int:
    """Run the service, serving ``web_app`` (the subscription pages, built by the face that
    starts the service), until SIGTERM/SIGINT; returns the exit code."""
    service = Service(rt, web_app, host=host, port=port, clock=clock)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, service.request_stop)
    try:
        return await service.run()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


def run_service(rt: Runtime, web_app: ASGIApp, *, host: str, port: int) -> int:
    """``serve`` on its own event loop (``digest run``)."""
    return asyncio.run(serve(rt, web_app, host=host, port=port))

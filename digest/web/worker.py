"""The visitor-request worker: a thread beside the web app that does queued sign-ups and
"send me my link" requests (``digest.app.visitor_requests``), so no request waits on SMTP.

Requests wake it; it starts once they pause (``settle``, at most ``max_delay``), and it
also wakes every ``poll`` seconds for retries (a relay that was down). Without it (an app
served with lifespan off, or a test client), each request's work runs after its response
has been sent instead.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from datetime import UTC, datetime

from digest.app.visitor_requests import VisitorQueue

log = logging.getLogger("digest.web")


async def work_now(queue: VisitorQueue) -> None:
    """Do every request due now; failures are logged, never raised (this runs after the
    response, or in the worker thread, where nobody could be told)."""
    try:
        while True:
            report = await queue.work(now=datetime.now(UTC))
            if report.done + report.retried + report.dropped == 0 or report.retried:
                return
    except Exception:
        log.exception("visitor requests: a pass failed; the queue is retried later")


class QueueWorker:
    """One daemon thread with its own event loop running ``work_now`` when woken."""

    def __init__(self, queue: VisitorQueue, *, poll: float = 30.0, settle: float = 0.2,
                 max_delay: float = 2.0) -> None:
        self.queue = queue
        self.poll = poll
        self.settle = settle
        self.max_delay = max_delay
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """True while the thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the thread (does a first pass at once: requests left from before)."""
        self._thread = threading.Thread(target=self._run, name="digest-visitors", daemon=True)
        self._thread.start()
        self._wake.set()

    def wake(self) -> None:
        """Ask for a pass now (a request was just queued)."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the current pass; waits at most ``timeout`` seconds."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        try:
            while not self._stop.is_set():
                self._wake.wait(self.poll)
                self._settle()
                if self._stop.is_set():
                    break
                loop.run_until_complete(work_now(self.queue))
        finally:
            loop.close()

    def _settle(self) -> None:
        # Work starts once no request has woken the worker for ``settle`` seconds (at most
        # ``max_delay`` after the first wake). The work depends on the address (an SMTP
        # transaction for a new one, nothing for an active one); done at once, it ran beside
        # the next requests, which a timing probe reads. bench/enumeration.py, same machine:
        # at once, means 4.3-5.5 ms and known/unknown ratios 1.06-1.22 (1.4-1.6 without its
        # warm-up); after the pause, 1.8-1.9 ms and 1.00-1.04.
        deadline = time.monotonic() + self.max_delay
        while not self._stop.is_set():
            self._wake.clear()
            left = deadline - time.monotonic()
            if left <= 0 or not self._wake.wait(min(self.settle, left)):
                return

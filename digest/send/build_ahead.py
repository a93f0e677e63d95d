"""Building messages ahead of the senders, in claim order, on one thread.

Rendering is CPU work that should not stall the sockets, but handing every message to a
thread and back costs a GIL handoff and a wake-up each (on two busy cores, as much as a
small message's whole send). So each claimed batch goes to one builder thread in a single
hand-off; it renders the batch in order while the workers send, and each worker awaits
only its own message. What is built ahead is only ever *content*: whether the subscriber
may still receive it is checked again right before sending (see deliver).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from digest.models import Claim
from digest.send.outcome import Builder, Outgoing

Built = Outgoing | Exception  # a build failure is data: it fails that delivery only


def _resolve(future: asyncio.Future[Built], result: Built) -> None:
    if not future.done():  # the run may have stopped and cancelled it
        future.set_result(result)


class BuildAhead:
    """``submit(claims)`` returns one future per claim, resolved as each is built."""

    def __init__(self, build: Builder) -> None:
        self.build = build
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="build")
        self._stopped = False

    def submit(self, claims: Sequence[Claim]) -> list[asyncio.Future[Built]]:
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[Built]] = [loop.create_future() for _ in claims]

        def work() -> None:
            for claim, future in zip(claims, futures, strict=True):
                if self._stopped:
                    return
                result: Built
                try:
                    result = self.build(claim)
                except Exception as exc:
                    result = exc
                try:
                    loop.call_soon_threadsafe(_resolve, future, result)
                except RuntimeError:  # the loop closed under us: nobody is waiting
                    return

        self._thread.submit(work)
        return futures

    def close(self) -> None:
        self._stopped = True
        self._thread.shutdown(wait=False, cancel_futures=True)

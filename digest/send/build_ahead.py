"""Building messages ahead of the senders, in claim order, on one thread.

Rendering is CPU work that should not stall the sockets, but handing every message to a
thread and back costs a GIL handoff and a wake-up each (on two busy cores, as much as a
small message's whole send). So each claimed batch goes to one builder thread in a single
hand-off; it renders the batch in order while the workers send, and each worker awaits
only its own message. Given a batch builder, the thread makes one call per batch (one
store read for it; with worker processes, the thread only waits for their results). What
is built ahead is only ever *content*: whether the subscriber may still receive it is
checked again right before sending (see deliver).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

from digest.models import Claim
from digest.send.outcome import BatchBuilder, Builder, Outgoing

Built = Outgoing | Exception  # a build failure is data: it fails that delivery only


def _resolve(future: asyncio.Future[Built], result: Built) -> None:
    if not future.done():  # the run may have stopped and cancelled it
        future.set_result(result)


class BuildAhead:
    """``submit(claims)`` returns one future per claim, resolved as each is built: by
    ``batch`` (one call per claimed batch: one store read, perhaps worker processes) when
    given, else by ``build`` one claim at a time."""

    def __init__(self, build: Builder, batch: BatchBuilder | None = None) -> None:
        self.build = build
        self.batch = batch
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="build")
        self._stopped = False

    def _one_by_one(self, claims: Sequence[Claim]) -> Iterator[Built]:
        for claim in claims:
            try:
                yield self.build(claim)
            except Exception as exc:
                yield exc

    def submit(self, claims: Sequence[Claim]) -> list[asyncio.Future[Built]]:
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[Built]] = [loop.create_future() for _ in claims]

        def work() -> None:
            failed: Exception | None = None
            try:
                results = iter(self.batch(claims) if self.batch is not None
                               else self._one_by_one(claims))
            except Exception as exc:
                failed = exc
            for future in futures:
                if self._stopped:
                    return
                result: Built
                try:
                    result = failed or next(results)
                except StopIteration:
                    result = failed = RuntimeError("the builder made fewer messages than claims")
                except Exception as exc:  # the batch builder itself failed: so does the rest
                    result = failed = exc
                try:
                    loop.call_soon_threadsafe(_resolve, future, result)
                except RuntimeError:  # the loop closed under us: nobody is waiting
                    return

        self._thread.submit(work)
        return futures

    def close(self) -> None:
        self._stopped = True
        self._thread.shutdown(wait=False, cancel_futures=True)

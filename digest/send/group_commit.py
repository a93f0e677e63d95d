"""Group commit of delivery outcomes: whoever waits first writes everything queued behind it
in one ledger transaction, so concurrent workers share commits instead of queueing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime

from digest.models import Outcome
from digest.send.ledger import Ledger


class GroupCommit:
    """``await record(outcomes)`` returns once they are committed (raising the ledger's
    ``StoreError`` if that commit failed); ``lease_lost`` counts outcomes the ledger did not
    take because another worker had taken their rows over."""

    def __init__(self, ledger: Ledger, *, owner: str, clock: Callable[[], datetime],
                 bounce_threshold: int) -> None:
        self.ledger, self.owner, self.clock = ledger, owner, clock
        self.bounce_threshold = bounce_threshold
        self.lease_lost = 0
        self._queue: list[tuple[Sequence[Outcome], asyncio.Future[None]]] = []
        self._flushing = False

    async def record(self, outcomes: Sequence[Outcome]) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((outcomes, done))
        if not self._flushing:
            self._flushing = True
            try:
                while self._queue:
                    batch, self._queue = self._queue, []
                    flat = [o for group, _ in batch for o in group]
                    try:
                        applied = await self.ledger.record(
                            flat, owner=self.owner, now=self.clock(),
                            bounce_threshold=self.bounce_threshold)
                    except BaseException as exc:
                        for _, fut in batch:
                            if not fut.done():
                                fut.set_exception(exc)
                        if not isinstance(exc, Exception):
                            raise
                        continue
                    self.lease_lost += len(flat) - applied
                    for _, fut in batch:
                        fut.set_result(None)
            finally:
                self._flushing = False
        await done

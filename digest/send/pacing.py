"""Pacing: a smooth messages-per-second limit, a rolling hourly cap, and how long a run
waits for retries about to fall due.

The per-second limit spaces sends evenly (no bursts that trip provider throttles); the
hourly cap is a sliding window seeded from the ledger, so it also holds across runs.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime

HOUR = 3600.0


class RateLimiter:
    """``await acquire()`` before each message; False means the hourly cap is reached."""

    def __init__(self, per_second: float = 0.0, hourly_cap: int = 0, *,
                 recent: Iterable[float] = (), monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], object] = asyncio.sleep) -> None:
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self.hourly_cap = hourly_cap
        self._monotonic = monotonic
        self._sleep = sleep
        self._next_free = 0.0
        # Send times (monotonic seconds) inside the last hour, oldest first.
        self._window: deque[float] = deque(sorted(recent))

    def _cap_reached(self, now: float) -> bool:
        if self.hourly_cap <= 0:
            return False
        while self._window and self._window[0] <= now - HOUR:
            self._window.popleft()
        return len(self._window) >= self.hourly_cap

    async def acquire(self) -> bool:
        now = self._monotonic()
        if self._cap_reached(now):
            return False
        # Virtual scheduling: each caller books the next free slot before sleeping, so
        # concurrent workers are spaced by ``interval`` without a lock.
        slot = max(now, self._next_free)
        self._next_free = slot + self.interval
        if self.hourly_cap > 0:
            self._window.append(slot)
        if slot > now:
            await self._sleep(slot - now)  # type: ignore[misc]
        return True

    @property
    def remaining_this_hour(self) -> int | None:
        if self.hourly_cap <= 0:
            return None
        self._cap_reached(self._monotonic())
        return max(0, self.hourly_cap - len(self._window))


class RetryWait:
    """A run's patience for retries: ``await until(wake, now=...)`` sleeps until ``wake``
    and returns True if that is within the window (``window`` seconds), else returns False.
    The window is also bounded in real time from the first wait, so a clock that stands
    still (a test's, or a skewed one) can never keep a run waiting for ever."""

    def __init__(self, window: float) -> None:
        self.window = window
        self._deadline: float | None = None  # monotonic end of waiting

    async def until(self, wake: datetime | None, *, now: datetime) -> bool:
        if wake is None:
            return False
        delay = (wake - now).total_seconds()
        if self._deadline is None:
            self._deadline = time.monotonic() + self.window
        if delay > self.window or time.monotonic() + delay > self._deadline:
            return False
        await asyncio.sleep(max(0.0, delay) + 0.01)
        return True

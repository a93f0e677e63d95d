"""Pacing and backoff: pure logic driven by a fake clock (no real sleeping, no timing asserts)."""

from __future__ import annotations

import asyncio
import itertools
import random
from datetime import timedelta

from digest.send.delivery_loop import backoff
from digest.send.pacing import RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _limiter(clock: FakeClock, **kwargs: object) -> RateLimiter:
    return RateLimiter(monotonic=clock.monotonic, sleep=clock.sleep, **kwargs)  # type: ignore[arg-type]


def test_per_second_limit_spaces_messages_evenly() -> None:
    clock = FakeClock()
    limiter = _limiter(clock, per_second=4.0)

    async def go() -> list[float]:
        times = []
        for _ in range(9):
            assert await limiter.acquire()
            times.append(clock.now)
        return times

    times = asyncio.run(go())
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps == [0.25] * 8  # smooth: no burst at the start, no bunching later


def test_concurrent_acquirers_share_one_schedule() -> None:
    clock = FakeClock()
    slept: list[float] = []

    async def sleep(seconds: float) -> None:  # time stands still while they all book
        slept.append(seconds)
        await asyncio.sleep(0)

    limiter = RateLimiter(10.0, monotonic=clock.monotonic, sleep=sleep)

    async def go() -> None:
        await asyncio.gather(*(limiter.acquire() for _ in range(5)))

    asyncio.run(go())
    # Each caller booked its own slot: 0, 0.1, ... 0.4 seconds from the start.
    assert sorted(round(s, 6) for s in slept) == [0.1, 0.2, 0.3, 0.4]


def test_hourly_cap_counts_earlier_sends_and_frees_up_as_they_age() -> None:
    clock = FakeClock()
    earlier = [clock.now - 3500.0, clock.now - 10.0]  # two sends in the last hour
    limiter = _limiter(clock, hourly_cap=3, recent=earlier)

    async def go() -> list[bool]:
        return [await limiter.acquire(), await limiter.acquire()]

    assert asyncio.run(go()) == [True, False]
    assert limiter.remaining_this_hour == 0
    clock.now += 101.0  # the oldest send is now more than an hour ago
    assert asyncio.run(limiter.acquire()) is True


def test_unlimited_by_default() -> None:
    clock = FakeClock()
    limiter = _limiter(clock)
    assert all(asyncio.run(limiter.acquire()) for _ in range(100))
    assert clock.slept == [] and limiter.remaining_this_hour is None


def test_backoff_grows_exponentially_with_jitter_and_a_ceiling() -> None:
    random.seed(7)
    for attempt, ceiling in [(1, 60), (2, 120), (3, 240), (4, 480)]:
        waits = [backoff(attempt, base=60, cap=3600) for _ in range(50)]
        assert all(timedelta(seconds=ceiling / 2) <= w <= timedelta(seconds=ceiling) for w in waits)
        assert len(set(waits)) > 1  # jittered, so many retries do not arrive in lockstep
    assert backoff(30, base=60, cap=3600) <= timedelta(seconds=3600)

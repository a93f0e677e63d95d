"""The web app's "this week's picks" never queue without bound (an attacker's report: 100
concurrent "Show this week's picks" requests held every server thread for 5 minutes, so
/healthz took 192 s). Ranking itself is the product's picker in a child process; here a
picker that blocks until released stands in for a slow one, since what is under test is
how many requests may wait for it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from digest.app.reader import BACKGROUND_AT_ONCE, CHECKS_AT_ONCE, Reader
from digest.models import Profile, Ranking, Subscriber

NOW = datetime(2026, 12, 2, tzinfo=UTC)


class SlowPicker:
    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0
        self.started = threading.Semaphore(0)

    def __call__(self, subscriber: Subscriber, interests: str, *, now: datetime,
                 limit: int) -> Ranking:
        self.calls += 1
        self.started.release()
        assert self.release.wait(10)
        return Ranking(picks=(), considered=0)


def reader(picker: SlowPicker) -> Reader:
    return Reader(engine=None, picker=picker, mail=None)  # type: ignore[arg-type]


def sub(i: int) -> Subscriber:
    return Subscriber(id=i, email=f"r{i}@example.org", name="", profile=Profile("x"))


def test_checks_beyond_the_bound_are_answered_busy_at_once() -> None:
    picker = SlowPicker()
    r = reader(picker)
    results: list[object] = []
    threads = [threading.Thread(target=lambda i=i: results.append(
        r.this_week_or_busy(sub(i), f"topic {i}", now=NOW))) for i in range(CHECKS_AT_ONCE)]
    for t in threads:
        t.start()
    for _ in range(CHECKS_AT_ONCE):
        assert picker.started.acquire(timeout=10)  # each is inside the picker now
    assert r.this_week_or_busy(sub(99), "one more", now=NOW) is None  # no wait: busy
    picker.release.set()
    for t in threads:
        t.join(10)
    assert results == [[]] * CHECKS_AT_ONCE
    assert r.this_week_or_busy(sub(99), "one more", now=NOW) == []  # free again


def test_background_rankings_are_bounded_too() -> None:
    picker = SlowPicker()
    r = reader(picker)
    for i in range(BACKGROUND_AT_ONCE + 5):
        assert r.this_week_soon(sub(i), f"topic {i}", now=NOW) is None
    for _ in range(BACKGROUND_AT_ONCE):
        assert picker.started.acquire(timeout=10)
    assert not picker.started.acquire(timeout=0.3)  # the rest started no thread
    picker.release.set()
    assert picker.calls == BACKGROUND_AT_ONCE

"""Blocking work off the event loop, in daemon threads a shutdown never waits for."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def in_daemon_thread(fn: Callable[[], T]) -> T:
    """Run ``fn`` in a daemon thread and await its result (or exception). Unlike the default
    executor, interpreter shutdown never waits for it: the ledger makes an interrupted plan
    or fetch harmless."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def work() -> None:
        try:
            result = fn()
        except BaseException as exc:
            _answer(loop, future, None, exc)
        else:
            _answer(loop, future, result, None)

    threading.Thread(target=work, daemon=True, name="digest-job").start()
    return await future


def _answer(loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any], result: Any,
            exc: BaseException | None) -> None:
    # A loop closed meanwhile (the service stopped while the work ran, more often now that
    # fetch and plan run in a child that takes seconds to start): nobody awaits the answer,
    # and raising here would print "Exception in thread digest-job" at exit.
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(_settle, future, result, exc)


def _settle(future: asyncio.Future[Any], result: Any, exc: BaseException | None) -> None:
    if future.done():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)

"""Where the delivery loop's ledger calls run, on one connection held for the whole run.

SQLite is a local file: a claim or a group commit takes a fraction of a millisecond, less
than handing it to a thread and back (a GIL handoff on a busy machine), so those calls run
right on the event loop. A networked database (PostgreSQL) waits on round trips, so its
writes go to one dedicated thread, which keeps the sockets moving and never races itself,
and its reads to another, so the check before a message never queues behind a commit.
Either way each held connection is used by one caller at a time.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from digest.errors import StoreError
from digest.store.db import READ_ONLY

T = TypeVar("T")


class LedgerLink:
    """``await link.call(fn, *args)`` runs ``fn(connection, *args)``, ``link.read`` the
    same on a connection that takes no write lock; close() when done."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.inline = engine.dialect.name == "sqlite"
        # read-only? -> the one thread that uses that connection (none when inline)
        self._threads: dict[bool, ThreadPoolExecutor] = {} if self.inline else {
            ro: ThreadPoolExecutor(1, thread_name_prefix="ledger-read" if ro else "ledger")
            for ro in (False, True)}
        self._conns: dict[bool, Connection] = {}  # read-only? -> connection

    def _connection(self, read_only: bool) -> Connection:
        conn = self._conns.get(read_only)
        if conn is None or conn.invalidated:
            if conn is not None:  # lost (a dropped server connection): start afresh
                conn.close()
            # Opened on the thread that uses it: sqlite3 connections are bound to theirs.
            conn = self.engine.connect()
            if read_only:
                conn.execution_options(**{READ_ONLY: True})
            self._conns[read_only] = conn
        return conn

    def _run(self, read_only: bool, fn: Callable[..., T], args: tuple[Any, ...],
             kwargs: dict[str, Any]) -> T:
        conn = self._connection(read_only)
        try:
            return fn(conn, *args, **kwargs)
        except SQLAlchemyError as exc:
            try:
                if conn.in_transaction():
                    conn.rollback()
            except SQLAlchemyError:
                pass  # the connection is gone; the next call opens another
            raise StoreError(f"ledger {'read' if read_only else 'write'} failed: {exc}") from exc

    async def _dispatch(self, read_only: bool, fn: Callable[..., T], args: tuple[Any, ...],
                        kwargs: dict[str, Any]) -> T:
        if self.inline:
            return self._run(read_only, fn, args, kwargs)
        return await asyncio.get_running_loop().run_in_executor(
            self._threads[read_only], functools.partial(self._run, read_only, fn, args, kwargs))

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await self._dispatch(False, fn, args, kwargs)

    async def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await self._dispatch(True, fn, args, kwargs)

    async def close(self) -> None:
        def close_conn(read_only: bool) -> None:
            conn = self._conns.pop(read_only, None)
            if conn is not None:
                conn.close()

        for read_only in (False, True):
            thread = self._threads.get(read_only)
            if thread is None:
                close_conn(read_only)
            else:  # on the thread that used it
                await asyncio.get_running_loop().run_in_executor(thread, close_conn, read_only)
                thread.shutdown(wait=False)

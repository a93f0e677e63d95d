"""The store's implementation of the send loop's ``Ledger``, on connections held for the run.

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
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from digest.models import Claim, LeaseHolder, Outcome
from digest.store import claims, leases
from digest.store.guard import READ_ONLY, shown_url, translate

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
        conn: Connection | None = None
        try:
            conn = self._connection(read_only)
            return fn(conn, *args, **kwargs)
        except SQLAlchemyError as exc:
            try:
                if conn is not None and conn.in_transaction():
                    conn.rollback()
            except SQLAlchemyError:
                pass  # the connection is gone; the next call opens another
            raise translate(exc, url=shown_url(self.engine)) from exc

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


class StoreLedger:
    """``send.ledger.Ledger`` over the store: one ``LedgerLink`` per send run."""

    def __init__(self, engine: Engine) -> None:
        self.link = LedgerLink(engine)

    async def claim(self, *, owner: str, now: datetime, limit: int, lease: timedelta,
                    subscriber_ids: Sequence[int] | None) -> list[Claim]:
        return await self.link.call(claims.claim_batch, owner=owner, now=now, limit=limit,
                                    lease=lease, subscriber_ids=subscriber_ids)

    async def record(self, outcomes: Sequence[Outcome], *, owner: str, now: datetime,
                     bounce_threshold: int) -> int:
        return await self.link.call(claims.record_outcomes, outcomes, owner=owner, now=now,
                                    bounce_threshold=bounce_threshold)

    async def renew(self, delivery_ids: Sequence[int], *, owner: str, now: datetime,
                    lease: timedelta) -> int:
        return await self.link.call(leases.renew_leases, delivery_ids, owner=owner, now=now,
                                    lease=lease)

    async def release(self, delivery_ids: Sequence[int], *, owner: str, now: datetime,
                      note: str | None = None) -> int:
        return await self.link.call(leases.release, delivery_ids, owner=owner, now=now,
                                    note=note)

    async def holders(self, *, now: datetime) -> list[LeaseHolder]:
        return await self.link.read(leases.lease_holders, now=now)

    async def expire(self, owner: str, *, now: datetime) -> int:
        return await self.link.call(leases.expire_leases, owner, now=now)

    async def refusal(self, subscriber_id: int, address: str) -> str | None:
        return await self.link.read(claims.refusal, subscriber_id, address)

    async def next_retry_at(self, *, subscriber_ids: Sequence[int] | None) -> datetime | None:
        return await self.link.read(claims.next_retry_at, subscriber_ids=subscriber_ids)

    async def close(self) -> None:
        await self.link.close()

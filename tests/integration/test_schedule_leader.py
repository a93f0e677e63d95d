"""Leadership: one holder at a time, and the lock frees when its holder goes away."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import Engine

from digest.store.db import create_store_engine, open_store
from digest.store.leader_lock import FileLeadership, PgLeadership, leader_present, leadership_for


def test_only_one_holder_and_release_hands_over(engine: Engine) -> None:
    first, second = leadership_for(engine), leadership_for(engine)
    assert leader_present(engine) is False
    assert first.acquire() is True
    assert first.alive() is True
    assert second.acquire() is False
    assert leader_present(engine) is True
    first.release()
    assert second.acquire() is True
    second.release()
    assert leader_present(engine) is False


def test_postgres_lock_is_freed_when_the_holders_connection_dies(pg_database: str) -> None:
    engine = open_store(pg_database)
    other = open_store(pg_database)
    try:
        holder, waiter = PgLeadership(engine), PgLeadership(other)
        assert holder.acquire() and not waiter.acquire()
        assert holder.conn is not None
        holder.conn.invalidate()  # the session ends as if the process had been killed
        assert holder.alive() is False
        # The server drops the lock when that backend has exited, a moment after the socket
        # closed (asynchronously): the next leader may need a retry or two, as it would.
        deadline = time.monotonic() + 10
        while not (won := waiter.acquire()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert won is True
        waiter.release()
    finally:
        engine.dispose()
        other.dispose()


def test_sqlite_lock_file_sits_next_to_the_database(tmp_path: Path) -> None:
    engine = open_store(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        lead = leadership_for(engine)
        assert isinstance(lead, FileLeadership) and lead.path == tmp_path / "x.db.leader"
        assert lead.acquire()
        lead.release()
    finally:
        engine.dispose()


def test_a_scheduler_of_another_database_on_the_same_server_is_not_ours(
        pg_database: str) -> None:
    # Advisory locks are per database (PostgreSQL docs, "Advisory Locks"); pg_locks lists
    # every database's. Two digests sharing one server each have their own scheduler.
    from sqlalchemy.engine import make_url

    # The server's own "postgres" database: only a lock is taken there, no schema.
    neighbour = create_store_engine(make_url(pg_database).set(database="postgres")
                                    .render_as_string(hide_password=False))
    ours = open_store(pg_database)
    try:
        theirs = PgLeadership(neighbour)
        assert theirs.acquire() is True
        assert leader_present(ours) is False
        mine = PgLeadership(ours)
        assert mine.acquire() is True
        mine.release()
        theirs.release()
    finally:
        neighbour.dispose()
        ours.dispose()

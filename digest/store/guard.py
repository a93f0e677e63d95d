"""The store's one way in and out: connections to read or write on, and the one place where
database errors become digest's ``StoreError`` subclasses.

Every store function opens its connection through ``reading`` or ``writing``; an error
raised inside (or at commit) leaves as ``StoreUnavailable``, ``StoreLocked``,
``StoreCorrupt``, ``StoreFull`` or ``StoreConflict``, never as a SQLAlchemy or driver error.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from digest.errors import (
    StoreConflict,
    StoreCorrupt,
    StoreError,
    StoreFull,
    StoreLocked,
    StoreUnavailable,
)

READ_ONLY = "digest_read_only"  # execution option: this connection only reads (see store.db)

# SQLite result codes (https://www.sqlite.org/rescode.html), read from the exception's
# ``sqlite_errorcode`` (Python 3.11+); the low byte is the primary code.
_SQLITE = {
    5: StoreLocked,  # SQLITE_BUSY
    6: StoreLocked,  # SQLITE_LOCKED
    8: StoreUnavailable,  # SQLITE_READONLY: the file or its folder is not writable
    10: StoreUnavailable,  # SQLITE_IOERR
    11: StoreCorrupt,  # SQLITE_CORRUPT
    13: StoreFull,  # SQLITE_FULL
    14: StoreUnavailable,  # SQLITE_CANTOPEN
    26: StoreCorrupt,  # SQLITE_NOTADB
}
_SQLITE_WORDS = {
    StoreLocked: "the database is locked by another process (it waited 30 s); try again",
    StoreUnavailable: "cannot open or write the database file",
    StoreCorrupt: "the database file is damaged or is not a digest database",
    StoreFull: "the disk holding the database is full",
}

# PostgreSQL SQLSTATE classes and codes (https://www.postgresql.org/docs/current/errcodes-appendix.html).
_PG_CLASSES = {"08": StoreUnavailable, "57": StoreUnavailable, "53": StoreUnavailable,
               "40": StoreLocked, "XX": StoreCorrupt}
_PG_CODES = {"55P03": StoreLocked, "53100": StoreFull, "23505": StoreConflict,
             "23503": StoreConflict}


def _sqlite_kind(orig: BaseException) -> type[StoreError] | None:
    code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(code, int):
        return _SQLITE.get(code & 0xFF)
    text = str(orig).lower()  # older sqlite3 modules: the message is all there is
    for words, kind in (("locked", StoreLocked), ("malformed", StoreCorrupt),
                        ("not a database", StoreCorrupt), ("disk is full", StoreFull),
                        ("unable to open", StoreUnavailable)):
        if words in text:
            return kind
    return None


def _pg_kind(orig: BaseException) -> type[StoreError] | None:
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if not isinstance(state, str):
        return None
    return _PG_CODES.get(state) or _PG_CLASSES.get(state[:2])


def translate(exc: BaseException, *, url: str = "") -> StoreError:
    """The ``StoreError`` subclass that says what ``exc`` (a SQLAlchemy or DBAPI error) means
    for the operator, with a one-line message naming the database (password hidden).

    Rules: SQLite result codes and PostgreSQL SQLSTATEs (links above); a lost or refused
    connection is ``StoreUnavailable``; a unique-key race is ``StoreConflict``; anything
    else is a plain ``StoreError`` carrying the driver's first line.
    """
    if isinstance(exc, StoreError):
        return exc
    orig = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    kind: type[StoreError] | None
    if isinstance(exc, IntegrityError):
        kind = StoreConflict
    elif isinstance(orig, sqlite3.Error):
        kind = _sqlite_kind(orig)
    else:
        kind = _pg_kind(orig)
    if kind is None and (isinstance(exc, PoolTimeout)
                         or (isinstance(exc, DBAPIError) and exc.connection_invalidated)):
        kind = StoreUnavailable
    if kind is None and isinstance(exc, DBAPIError) and type(orig).__name__ == "OperationalError":
        kind = StoreUnavailable  # psycopg: the server refused or dropped the connection
    kind = kind or StoreError
    detail = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    if isinstance(orig, sqlite3.Error) and kind in _SQLITE_WORDS:
        detail = f"{_SQLITE_WORDS[kind]} ({detail})"
    where = f" [{url}]" if url else ""
    return kind(f"{detail}{where}")


def shown_url(engine: Engine) -> str:
    """The database URL with any password masked, for messages."""
    return engine.url.render_as_string(hide_password=True)


@contextmanager
def guarded(engine: Engine) -> Iterator[None]:
    """Translate the errors of the block (work that holds its own connections: migrations,
    locks; and the two below)."""
    try:
        yield
    except (SQLAlchemyError, sqlite3.Error) as exc:
        raise translate(exc, url=shown_url(engine)) from exc


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection that only reads: on SQLite it takes no write lock (WAL snapshot per
    statement), so ``digest status`` and ``/healthz`` answer while a writer works."""
    with guarded(engine), engine.connect() as conn:
        conn.execution_options(**{READ_ONLY: True})
        yield conn


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """One transaction, committed when the block ends (rolled back on error)."""
    with guarded(engine), engine.begin() as conn:
        yield conn

"""A local cache of paper embeddings for ranking feed files without the main database.

``digest rank --feed`` would otherwise re-encode every paper on every call (about 0.2 s per
abstract on two cores). Vectors are keyed by encoder name and a key the caller derives from
the exact text the encoder reads (``text_key``), so an edited abstract or another model is
simply a miss. The cache is an optimisation only: if it cannot be opened, read or written,
reads come back empty and writes are dropped.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

_ERRORS = (sqlite3.Error, OSError)


def default_path() -> Path:
    """``$XDG_CACHE_HOME/digest/embeddings.sqlite`` (``~/.cache`` when unset)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "digest" / "embeddings.sqlite"


def text_key(text: str) -> str:
    """The cache key of one encoder input: its SHA-256."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@contextmanager
def _cache(path: Path) -> Iterator[sqlite3.Connection | None]:
    """The cache's connection, or None when it cannot be opened (a cold cache)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=10)
    except _ERRORS:
        yield None
        return
    try:
        conn.execute("PRAGMA journal_mode=WAL")  # concurrent `digest rank` calls read freely
        conn.execute(
            "CREATE TABLE IF NOT EXISTS vectors ("
            " model TEXT NOT NULL, key TEXT NOT NULL, vector BLOB NOT NULL,"
            " PRIMARY KEY (model, key))"
        )
    except _ERRORS:
        conn.close()
        yield None  # not a database, or read-only before the table exists
        return
    try:
        yield conn
    finally:
        conn.close()


def read_vectors(path: Path, model: str, keys: list[str]) -> dict[str, np.ndarray]:
    """Cached vectors of ``model`` for these keys (missing keys are simply absent)."""
    found: dict[str, np.ndarray] = {}
    with _cache(path) as conn:
        if conn is None:
            return found
        try:
            for start in range(0, len(keys), 500):  # under SQLite's bound-parameter limit
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = conn.execute(
                    f"SELECT key, vector FROM vectors WHERE model = ? AND key IN ({marks})",
                    [model, *chunk],
                )
                for key, blob in rows:
                    found[key] = np.frombuffer(blob, dtype="<f4").astype(np.float32)
        except _ERRORS:
            return {}  # a damaged cache is a cold cache
    return found


def write_vectors(path: Path, model: str, rows: dict[str, np.ndarray]) -> None:
    """Cache these key -> vector rows of ``model`` (silently dropped if it cannot)."""
    with _cache(path) as conn:
        if conn is None:
            return
        try:
            with conn:
                conn.executemany(
                    "INSERT OR REPLACE INTO vectors (model, key, vector) VALUES (?, ?, ?)",
                    [(model, k, np.asarray(v, dtype="<f4").tobytes()) for k, v in rows.items()],
                )
        except _ERRORS:
            pass  # read-only or full disk: the vectors were still computed for this call

"""Leadership: which one process runs the scheduler, as a protocol.

``store.leader_lock`` implements it (a PostgreSQL advisory lock, or a file lock next to a
SQLite database); the service only asks these three questions.
"""

from __future__ import annotations

from typing import Protocol


class Leadership(Protocol):
    """A lock at most one process holds; blocking calls (the service runs them off the loop)."""

    def acquire(self) -> bool:
        """Take the lock if it is free; True when this process now leads."""
        ...

    def alive(self) -> bool:
        """Whether we still hold it (a lost database connection loses it)."""
        ...

    def release(self) -> None:
        """Give it up (harmless when not held)."""
        ...

"""The error tree: every failure digest reports derives from DigestError.

Third-party exceptions are translated where they enter (``raise FeedError(...) from exc``);
only the CLI and web layers turn these into exit codes and HTTP statuses.
"""

from __future__ import annotations


class DigestError(Exception):
    """Base class for every error digest raises on purpose."""


class ConfigError(DigestError):
    """A setting is missing or malformed; the message names the setting."""


class FeedError(DigestError):
    """A feed could not be fetched or parsed (per feed: the others go on)."""


class StoreError(DigestError):
    """The database could not be opened, migrated, read or written.

    The store raises one of the subclasses below; faces map each to one line and an exit
    code (or a 503 page). ``temporary`` says whether trying again later may succeed.
    """

    temporary = False


class StoreUnavailable(StoreError):
    """The database cannot be reached now: server down, connection lost, file not openable."""

    temporary = True


class StoreLocked(StoreError):
    """Another process holds the lock this work needs, longer than the store waits."""

    temporary = True


class StoreCorrupt(StoreError):
    """The database file (or server storage) is damaged or is not a digest database."""


class StoreFull(StoreError):
    """The disk (or the server's storage) is full: nothing more can be written."""


class StoreConflict(StoreError):
    """A write lost a race to another writer (a unique key already taken); the store
    catches this itself where a race is expected."""


class RenderError(DigestError):
    """A template failed to compile or render."""


class AddressError(DigestError):
    """An email address is not acceptable (syntax, length, control characters)."""


class DeliveryError(DigestError):
    """One message could not be delivered; ``permanent`` tells retry from bounce."""

    def __init__(self, message: str, *, permanent: bool = False, code: int | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code


class SendAborted(DigestError):
    """Too many consecutive delivery failures: the configuration is broken, not one address."""


class TokenError(DigestError):
    """A signed token is forged, expired, or meant for another purpose."""


class SuppressedError(AddressError):
    """The address asked to be forgotten (or hard-bounced): it may not be added again."""

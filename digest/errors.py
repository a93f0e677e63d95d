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
    """One message could not be delivered, and whose fault that is.

    ``fault`` is a party from ``send.replies`` when a server refused the message
    (``recipient``, ``message``, ``sender``, ``transient``, ``other``), or ``connection``
    (no SMTP session: ``kind`` names the diagnosis, e.g. ``refused`` or ``tls-mismatch``),
    ``unknown`` (the reply to the end of DATA never came: the message may have been
    delivered) or ``local`` (digest cannot put this message on the wire at all).
    """

    PERMANENT = frozenset({"recipient", "message", "other", "local"})

    def __init__(self, message: str, *, fault: str = "transient", code: int | None = None,
                 kind: str | None = None) -> None:
        super().__init__(message)
        self.fault = fault
        self.code = code
        self.kind = kind

    @property
    def permanent(self) -> bool:
        """Whether trying this delivery again cannot help."""
        return self.fault in self.PERMANENT


class SendAborted(DigestError):
    """The send stopped early: a run of failures, or the ledger was lost. ``report`` (set
    by the delivery loop) holds what was done before."""


class SendMisconfigured(SendAborted):
    """The send stopped because of the setup, not the messages: every connection failed
    the same way, the server refuses us as a sender (SPF/DKIM/DMARC, relay policy), or the
    outbox cannot be written. The message names the setting to change."""


class TokenError(DigestError):
    """A signed token is forged, expired, or meant for another purpose."""


class SuppressedError(AddressError):
    """The address asked to be forgotten (or hard-bounced): it may not be added again."""

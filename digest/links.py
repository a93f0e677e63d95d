"""The one link builder: every signed URL digest puts in an email or a page.

A link is ``<base_url>/<purpose>/<token>``; the token (``digest.tokens``) names one
subscriber (by integer id and random public id) and one purpose, so a link for one action
is worthless for any other, and a link for a deleted subscriber is worthless for whoever
gets their integer id next. Feedback links ("more / less like this", two per paper) carry
a short HMAC-tagged token instead (``tokens.make_feedback_token``): same guarantees, a
fraction of the signing cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from digest.render.types import DigestLinks
from digest.tokens import can_make_feedback_token, feedback_minter, make_token


@dataclass(frozen=True, slots=True)
class Links:
    """Builds signed links for one deployment: ``base_url`` (DIGEST_BASE_URL), the signing
    ``secret`` and the ``from_address`` whose mailbox takes "unsubscribe <token>" mails."""

    base_url: str
    secret: str
    from_address: str

    def url(self, purpose: str, subscriber_id: int, public_id: str, **extra: Any) -> str:
        """``<base>/<purpose>/<token>``; ``extra`` goes into the signed payload."""
        token = make_token(self.secret, purpose, subscriber_id, public_id=public_id, **extra)
        return f"{self.base_url.rstrip('/')}/{purpose}/{token}"

    def manage(self, subscriber_id: int, public_id: str) -> dict[str, str]:
        """The never-expiring links a subscriber keeps (the same ones every digest carries):
        ``preferences_url`` and ``unsubscribe_url``."""
        return {"preferences_url": self.url("preferences", subscriber_id, public_id),
                "unsubscribe_url": self.url("unsubscribe", subscriber_id, public_id)}

    def view(self, subscriber_id: int, public_id: str, edition_key: str) -> str:
        """This reader's copy of edition ``edition_key`` in a browser (never expires)."""
        return self.url("view", subscriber_id, public_id, e=edition_key)

    def feed(self, subscriber_id: int, public_id: str, feed_key: str) -> str:
        """The reader's private Atom feed; ``feed_key`` is the revocable key stored with the
        subscriber (a new key makes every older feed link worthless)."""
        return self.url("feed", subscriber_id, public_id, k=feed_key)

    def for_digest(self, subscriber_id: int, public_id: str,
                   edition_key: str | None = None) -> DigestLinks:
        """Every link one digest carries, including per-paper feedback, the RFC 8058
        ``List-Unsubscribe`` mailto (subject ``unsubscribe <token>``) and, given the edition,
        its "view in browser" link."""
        unsub = make_token(self.secret, "unsubscribe", subscriber_id, public_id=public_id)
        base = self.base_url.rstrip("/")
        # Links for someone without a public id (the subscribe page's made-up sample reader)
        # keep the full token format.
        mint = (feedback_minter(self.secret, public_id)
                if can_make_feedback_token(public_id) else None)

        def feedback_url(paper_id: str, signal: str) -> str:
            if mint is not None:  # one HMAC, not a full token: twenty of these in every digest
                return f"{base}/feedback/{mint(paper_id, signal)}"
            # A lone surrogate cannot be signed (the payload is UTF-8 JSON); such an id
            # matches no stored paper anyway, so its link just records nothing useful.
            safe_id = paper_id.encode("utf-8", "replace").decode("utf-8")
            return self.url("feedback", subscriber_id, public_id, paper=safe_id, signal=signal)

        return DigestLinks(
            unsubscribe_url=f"{base}/unsubscribe/{unsub}",
            preferences_url=self.url("preferences", subscriber_id, public_id),
            feedback_url=feedback_url,
            list_unsubscribe_mailto=(f"mailto:{self.from_address}"
                                     f"?subject={quote('unsubscribe ' + unsub)}"),
            view_url=self.view(subscriber_id, public_id, edition_key) if edition_key else None,
        )

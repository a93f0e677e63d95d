"""The signed links a digest carries: unsubscribe, preferences, feedback."""

from __future__ import annotations

from urllib.parse import quote

from digest.render import DigestLinks
from digest.tokens import make_token


def digest_links(base_url: str, secret: str, subscriber_id: int, from_address: str) -> DigestLinks:
    base = base_url.rstrip("/")
    unsub = make_token(secret, "unsubscribe", subscriber_id)

    def feedback_url(paper_id: str, signal: str) -> str:
        token = make_token(secret, "feedback", subscriber_id, paper=paper_id, signal=signal)
        return f"{base}/feedback/{token}"

    return DigestLinks(
        unsubscribe_url=f"{base}/unsubscribe/{unsub}",
        preferences_url=f"{base}/preferences/{make_token(secret, 'preferences', subscriber_id)}",
        feedback_url=feedback_url,
        list_unsubscribe_mailto=f"mailto:{from_address}?subject={quote('unsubscribe ' + unsub)}",
    )

"""Use-case helper: one subscriber's digest as a finished email — rendered, composed, with
their signed links — for delivery and for previews alike."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from email.message import EmailMessage

from digest.addresses import wire_address
from digest.compose import compose_message, make_message_id
from digest.editions import edition_for
from digest.links import Links
from digest.models import EditionInfo, Ranking, Subscriber
from digest.render import RenderedEmail, Renderer


@dataclass(frozen=True, slots=True)
class DigestMail:
    """Renders and composes digests from ``From`` settings, a renderer and the link builder."""

    renderer: Renderer
    links: Links
    from_address: str
    from_name: str
    product_name: str

    @property
    def domain(self) -> str:
        """The sender's domain as on the wire (IDNA A-labels): Message-IDs and the List-Id
        live under it."""
        return wire_address(self.from_address).rsplit("@", 1)[1]

    def render(self, subscriber: Subscriber, ranking: Ranking,
               edition: EditionInfo) -> RenderedEmail:
        """The digest bodies of ``edition`` for this subscriber, with the same signed links
        its email carries (the "view in browser" page shows exactly this HTML)."""
        links = self.links.for_digest(subscriber.id, subscriber.public_id, edition.key)
        return self.renderer.render_digest(subscriber=subscriber, ranking=ranking,
                                           edition=edition, links=links)

    def compose(self, subscriber: Subscriber, ranking: Ranking, *, edition_key: str,
                now: datetime) -> tuple[RenderedEmail, EmailMessage]:
        """The rendered bodies and the composed message of edition ``edition_key`` for this
        subscriber, dated ``now``. Raises RenderError (template) or AddressError (recipient).
        """
        links = self.links.for_digest(subscriber.id, subscriber.public_id, edition_key)
        info = edition_for(subscriber, now)
        if info.key != edition_key:  # rendering a row planned in an earlier period
            info = replace(info, key=edition_key)
        rendered = self.renderer.render_digest(subscriber=subscriber, ranking=ranking,
                                               edition=info, links=links)
        message = compose_message(
            rendered, to_addr=subscriber.email, to_name=subscriber.name,
            from_addr=self.from_address, from_name=self.from_name,
            message_id=make_message_id(edition_key, subscriber.id, self.domain), date=now,
            list_id=f"{self.product_name} <digest.{self.domain}>",
            unsubscribe_url=links.unsubscribe_url,
            unsubscribe_mailto=links.list_unsubscribe_mailto,
        )
        return rendered, message

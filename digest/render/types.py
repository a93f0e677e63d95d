"""Value types crossing the render boundary: branding in, link set in, rendered email out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from digest.config import Settings

@dataclass(frozen=True, slots=True)
class Branding:
    """What every email shows about the sender; comes from settings, fixed per Renderer."""

    product_name: str
    accent_color: str
    postal_address: str
    base_url: str

    @classmethod
    def from_settings(cls, settings: Settings) -> Branding:
        return cls(
            product_name=settings.product_name,
            accent_color=settings.accent_color,
            postal_address=settings.postal_address,
            base_url=settings.base_url,
        )


@dataclass(frozen=True, slots=True)
class DigestLinks:
    """Ready-made, already signed URLs for one subscriber; render never signs anything."""

    unsubscribe_url: str
    preferences_url: str
    feedback_url: Callable[[str, str], str]  # (paper_id, "more" | "less") -> URL
    list_unsubscribe_mailto: str | None = None
    view_url: str | None = None  # this edition in a browser ("view in browser")


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    """One rendered message body pair plus the subject and inbox preview line."""

    subject: str
    html: str
    text: str
    preheader: str

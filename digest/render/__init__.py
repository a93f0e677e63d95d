"""Render emails: Jinja2 (autoescaped) over MJML for HTML, and a plaintext twin."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import jinja2
import mjml

from digest.config import Settings
from digest.errors import RenderError
from digest.feeds.normalize import safe_url
from digest.models import EditionInfo, Ranking, Subscriber


def default_templates_dir() -> Path:
    return Path(__file__).resolve().parent.parent.parent / "templates"


@dataclass(frozen=True, slots=True)
class Branding:
    product_name: str
    accent_color: str
    postal_address: str
    base_url: str

    @classmethod
    def from_settings(cls, settings: Settings) -> Branding:
        return cls(settings.product_name, settings.accent_color, settings.postal_address,
                   settings.base_url)


@dataclass(frozen=True, slots=True)
class DigestLinks:
    unsubscribe_url: str
    preferences_url: str
    feedback_url: Callable[[str, str], str]
    list_unsubscribe_mailto: str | None = None


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    html: str
    text: str
    preheader: str


class Renderer:
    """Renders the digest and notice emails from the templates directory."""

    def __init__(self, templates_dir: Path, *, branding: Branding) -> None:
        self.branding = branding
        self._html_env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(templates_dir), autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        self._text_env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(templates_dir), autoescape=False,
            undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
        )
        for env in (self._html_env, self._text_env):
            env.filters["safe_url"] = lambda u: safe_url(u) or ""

    def _render(self, name: str, context: Mapping[str, Any]) -> tuple[str, str]:
        try:
            source = self._html_env.get_template(f"{name}.mjml.j2").render(context)
            html = mjml.mjml2html(source)
            text = self._text_env.get_template(f"{name}.txt.j2").render(context)
        except jinja2.TemplateError as exc:
            raise RenderError(f"template {name}: {exc}") from exc
        return html, text

    def render_digest(self, *, subscriber: Subscriber, ranking: Ranking, edition: EditionInfo,
                      links: DigestLinks) -> RenderedEmail:
        count = len(ranking.picks)
        subject = f"{self.branding.product_name}: {count} papers for you"
        preheader = ", ".join(p.paper.title for p in ranking.picks[:2])[:140]
        context = {"subscriber": subscriber, "ranking": ranking, "edition": edition,
                   "links": links, "brand": self.branding, "preheader": preheader}
        html, text = self._render("digest", context)
        return RenderedEmail(subject=subject, html=html, text=text, preheader=preheader)

    def render_notice(self, kind: Literal["confirm", "welcome", "goodbye"], *, email: str,
                      name: str, action_url: str,
                      extra: Mapping[str, str] | None = None) -> RenderedEmail:
        raise RenderError(f"notice {kind!r} is not available yet")

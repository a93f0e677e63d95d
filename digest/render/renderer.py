"""The Renderer: MJML compiled once per template version, then only Jinja per subscriber."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import jinja2

from digest.errors import RenderError
from digest.models import EditionInfo, Ranking, Subscriber
from digest.render.compiler import MjmlCompiler, MjmlLoader, compile_per_message
from digest.render.context import Fit, digest_context, lighten, trusted_url
from digest.render.fields import wrap
from digest.render.types import Branding, DigestLinks, RenderedEmail
from digest.resources import templates_dir
from digest.text import display_line, http_url

NoticeKind = Literal["confirm", "welcome", "goodbye", "export", "delete", "manage"]
# The one table of notices: subject and inbox preview line, and why the reader gets it.
NOTICES: dict[str, tuple[str, str, str]] = {
    "confirm": ("Confirm your {p} subscription", "One click and your paper digest starts.",
                "You get this one email because {e} was entered on the {p} sign-up form."),
    "welcome": ("Welcome to {p}", "You're in: here is what happens next.",
                "You get this because {e} subscribed to {p} and confirmed it."),
    "goodbye": ("You're unsubscribed from {p}", "No more digests. You can sign up again any time.",
                "You get this one last email because {e} just unsubscribed from {p}."),
    "export": ("Your {p} data", "Everything we store about you, attached as JSON.",
               "You get this because someone asked for {e}'s {p} data from its preferences page."),
    "delete": ("Confirm deleting your {p} data", "One click erases everything we store about you.",
               "You get this because someone asked to delete {e}'s {p} data."),
    "manage": ("Your {p} links", "Change your preferences or unsubscribe, any time.",
               "You get this because someone asked for {e}'s {p} links on the \"send me my "
               "link\" page. If it was not you, ignore it: nothing changes."),
}


# Gmail hides everything past ~102 KB of HTML ("[Message clipped]"), footer links included
# (field case 13: 30 papers made 106.6 KB). Every digest's HTML stays under this many bytes.
MAX_HTML_BYTES = 100_000
# The shapes tried in turn until the HTML fits: whole cards for the first ten papers, then
# fewer; then lean cards without feedback links; last, papers dropped from the end.
FITS = (Fit(full=10), Fit(full=5), Fit(full=0), Fit(full=0, feedback=False))


def to_ascii(html: str) -> str:
    """Non-ASCII as character references: same page, but 7bit-safe, so the HTML part needs no
    transfer encoding (the templates keep non-ASCII out of <style>, where refs don't apply)."""
    return html if html.isascii() else html.encode("ascii", "xmlcharrefreplace").decode("ascii")


def default_templates_dir() -> Path:
    """The packaged templates (``templates/`` in a checkout; see ``digest.resources``)."""
    return templates_dir()


def _environment(loader: jinja2.BaseLoader, *, autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=loader,
        autoescape=autoescape,
        auto_reload=True,  # asks the loader's uptodate(): a template edit shows on next render
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["http_url"] = lambda value: http_url(value) or ""
    env.filters["clean"] = display_line
    env.filters["wrap"] = wrap
    return env


class Renderer:
    """Renders digests and notices; holds the compile cache, so build one and reuse it."""

    def __init__(self, templates_dir: Path, *, branding: Branding) -> None:
        self.templates_dir = templates_dir
        self.branding = branding
        self.compiler = MjmlCompiler(templates_dir)
        self._html = _environment(MjmlLoader(self.compiler), autoescape=True)
        self._text = _environment(jinja2.FileSystemLoader(templates_dir), autoescape=False)
        self._brand = {
            "product_name": display_line(branding.product_name, limit=60),
            "accent_color": branding.accent_color,
            "accent_light": lighten(branding.accent_color),
            "postal_address": display_line(branding.postal_address, limit=200),
            "base_url": trusted_url(branding.base_url, "base_url"),
        }

    def render_digest(
        self,
        *,
        subscriber: Subscriber,
        ranking: Ranking,
        edition: EditionInfo,
        links: DigestLinks,
    ) -> RenderedEmail:
        """The digest email, its HTML under ``MAX_HTML_BYTES`` (see ``FITS``): whole cards
        while they fit, lean cards after, and only in the last resort fewer papers (the email
        then says how many did not fit). Raises RenderError on a template fault."""
        fits = [*FITS, *(Fit(0, False, keep) for keep in range(len(ranking.picks) - 1, 0, -1))]
        for fit in fits:
            rendered = self._render("digest", self.digest_context(subscriber, ranking, edition,
                                                                  links, fit=fit))
            if len(rendered.html) < MAX_HTML_BYTES:  # ASCII (to_ascii): chars are bytes
                return rendered
        return rendered

    def digest_context(
        self, subscriber: Subscriber, ranking: Ranking, edition: EditionInfo, links: DigestLinks,
        fit: Fit | None = None,
    ) -> dict[str, Any]:
        """The view model the digest templates see (public for previews and the benchmark);
        ``fit`` None means every card whole."""
        return digest_context(
            brand=self._brand,
            branding=self.branding,
            subscriber=subscriber,
            ranking=ranking,
            edition=edition,
            links=links,
            fit=fit,
        )

    def render_notice(
        self,
        kind: NoticeKind,
        *,
        email: str,
        name: str,
        action_url: str,
        extra: Mapping[str, str] | None = None,
    ) -> RenderedEmail:
        if kind not in NOTICES:
            raise RenderError(f"unknown notice kind {kind!r}")
        product = self._brand["product_name"]
        clean_email = display_line(email, limit=254)
        subject, preheader, why = (s.format(p=product, e=clean_email) for s in NOTICES[kind])
        extra = {k: display_line(v, limit=300) for k, v in (extra or {}).items()}
        context = {
            "brand": self._brand,
            "subject": subject,
            "preheader": preheader,
            "name": display_line(name, limit=80),
            "email": clean_email,
            "action_url": trusted_url(action_url, "action URL"),
            "extra": extra,
            "why": why,
            "preferences_url": http_url(extra.get("preferences_url")) or "",
            "unsubscribe_url": http_url(extra.get("unsubscribe_url")) or "",
        }
        return self._render(kind, context)

    def render_html(self, kind: str, context: Mapping[str, Any]) -> str:
        """The HTML body from the compiled (cached) template."""
        try:
            return to_ascii(self._html.get_template(f"{kind}.mjml.j2").render(context))
        except jinja2.TemplateError as exc:
            raise RenderError(f"{kind}.mjml.j2: {exc}") from exc

    def render_html_per_message(self, kind: str, context: Mapping[str, Any]) -> str:
        """The naive path (Jinja, then MJML, every time): the reference the cache must match."""
        try:
            html = compile_per_message(self.templates_dir, self._html, f"{kind}.mjml.j2", context)
            return to_ascii(html)
        except jinja2.TemplateError as exc:
            raise RenderError(f"{kind}.mjml.j2: {exc}") from exc

    def render_text(self, kind: str, context: Mapping[str, Any]) -> str:
        try:
            return self._text.get_template(f"{kind}.txt.j2").render(context)
        except jinja2.TemplateError as exc:
            raise RenderError(f"{kind}.txt.j2: {exc}") from exc

    def _render(self, kind: str, context: Mapping[str, Any]) -> RenderedEmail:
        return RenderedEmail(
            subject=context["subject"],
            html=self.render_html(kind, context),
            text=self.render_text(kind, context),
            preheader=context["preheader"],
        )

"""Build the template context for a digest: feed fields cleaned, links checked, labels made.

Templates only ever see this view model, never a raw Paper, so untrusted text is cleaned once.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

from digest.editions import local_dates
from digest.errors import RenderError
from digest.models import EditionInfo, Paper, Pick, Ranking, Subscriber
from digest.render.fields import excerpt, short_authors
from digest.render.mathtext import typeset_math
from digest.render.types import Branding, DigestLinks
from digest.text import display_line, http_url, shorten

EN_DASH = "\u2013"
TITLE_LIMIT = 300  # a 10 kB feed title must not become a 10 kB headline
_ADJECTIVE = {"weekly": ("weekly", "week"), "daily": ("daily", "day"), "off": ("latest", "issue")}


def lighten(hex_color: str, amount: float = 0.45) -> str:
    """Mix a ``#rrggbb`` colour with white: the accent stays readable on dark backgrounds."""
    rgb = [int(hex_color[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(c + (255 - c) * amount):02x}" for c in rgb)


def period_label(edition: EditionInfo) -> str:
    """``23-29 Nov 2026`` (en dash) for a week, ``Sun 29 Nov 2026`` for a day (no locale: pure),
    in the reader's own calendar days: from the edition key (``editions.local_dates``) when it
    names them, else from the period's instants."""
    days = local_dates(edition)
    start: date | datetime
    end: date | datetime
    if days is not None:
        start, end = days
    else:
        start, end = edition.period_start, edition.period_end
        if end > start and end.time() == datetime.min.time():
            end = end - timedelta(microseconds=1)  # an exclusive midnight end: the day before
        start, end = start.date(), end.date()
    if start == end or edition.frequency == "daily":
        return f"{end:%a} {end.day} {end:%b %Y}"
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}{EN_DASH}{end.day} {end:%b %Y}"
    if start.year == end.year:
        return f"{start.day} {start:%b} {EN_DASH} {end.day} {end:%b %Y}"
    return f"{start.day} {start:%b %Y} {EN_DASH} {end.day} {end:%b %Y}"


def trusted_url(url: str, what: str) -> str:
    """Our own links must be http(s); a bad one is the caller's bug, not feed noise."""
    checked = http_url(url)
    if checked is None:
        raise RenderError(f"{what} is not an http(s) URL: {url[:80]!r}")
    return checked


def _signal(paper: Paper) -> str:
    if paper.upvotes:
        return f"▲ {paper.upvotes:,} upvote{'s' if paper.upvotes != 1 else ''}"
    if paper.stars:
        return f"★ {paper.stars:,} GitHub stars"
    if paper.comments:
        return f"{paper.comments:,} comments"
    return ""


class PaperView(NamedTuple):
    """One paper as the templates see it. A tuple, not a dict: Jinja tries attribute access
    first, and a dict would cost a caught AttributeError on every ``p.title``."""

    id: str
    title: str
    url: str | None
    authors: str
    excerpt: str
    signal: str
    links: tuple[tuple[str, str], ...]
    reasons: tuple[str, ...] = ()
    more_url: str | None = None
    less_url: str | None = None
    lean: bool = False  # a short card (no excerpt, one reason): keeps long digests unclipped


@lru_cache(maxsize=4096)
def paper_fields(paper: Paper) -> PaperView:
    """The subscriber-independent part of a paper's view, cleaned once per edition: every
    reader who gets this paper shares it."""
    url = http_url(paper.url)
    pdf = http_url(paper.pdf_url)
    code = http_url(paper.code_url)
    return PaperView(
        id=paper.id,
        title=display_line(typeset_math(display_line(paper.title)), limit=TITLE_LIMIT) or "(untitled)",
        url=url,
        authors=short_authors(paper.authors),
        excerpt=excerpt(paper.abstract, paper.summary),
        signal=_signal(paper),
        links=tuple((k, v) for k, v in (("Abstract", url), ("PDF", pdf), ("Code", code)) if v),
    )


@lru_cache(maxsize=8192)
def clean_reasons(reasons: tuple[str, ...]) -> tuple[str, ...]:
    """A pick's first four reasons cleaned for display, empties dropped; cached because an
    edition repeats the same few reasons across its readers."""
    return tuple(r for r in (display_line(x, limit=160) for x in reasons[:4]) if r)


def paper_view(pick: Pick, links: DigestLinks) -> PaperView:
    paper = pick.paper
    # Paper ids come from feeds (``url:<link>``): a monstrous one loses its feedback links
    # rather than failing the whole digest.
    more = http_url(links.feedback_url(paper.id, "more"))
    less = http_url(links.feedback_url(paper.id, "less"))
    return paper_fields(paper)._replace(
        reasons=clean_reasons(tuple(pick.reasons)),
        more_url=more if less else None,
        less_url=less if more else None,
    )


class Fit(NamedTuple):
    """How much of each card an email may carry: ``full`` papers get whole cards, the rest
    lean ones (with feedback links when ``feedback``); past ``keep`` papers are dropped."""

    full: int
    feedback: bool = True
    keep: int | None = None


def lean_card(view: PaperView, *, feedback: bool) -> PaperView:
    """The short card: title, authors, signal, the first reason, the links."""
    return view._replace(
        excerpt="", lean=True, reasons=tuple(shorten(r, 90) for r in view.reasons[:1]),
        more_url=view.more_url if feedback else None, less_url=view.less_url if feedback else None,
    )


def digest_context(
    *,
    brand: dict[str, str],
    branding: Branding,
    subscriber: Subscriber,
    ranking: Ranking,
    edition: EditionInfo,
    links: DigestLinks,
    fit: Fit | None = None,
) -> dict[str, Any]:
    adjective, unit = _ADJECTIVE.get(edition.frequency, ("latest", "issue"))
    label = period_label(edition)
    papers = [paper_view(pick, links) for pick in ranking.picks]
    count = len(papers)
    dropped = 0
    if fit is not None:
        kept = papers[: fit.keep] if fit.keep is not None else papers
        dropped = count - len(kept)
        papers = kept[: fit.full] + [lean_card(v, feedback=fit.feedback)
                                     for v in kept[fit.full :]]
    product = display_line(branding.product_name, limit=60)
    if count:
        subject = f"{product}: {count} paper{'s' if count != 1 else ''} for {label}"
        rest = f" · and {count - 1} more" if count > 1 else ""
        preheader = shorten(f"Top pick: {papers[0].title}", 130 - len(rest)) + rest
    else:
        subject = f"{product}: a quiet {unit} ({label})"
        preheader = f"Nothing new cleared your relevance bar this {unit}."
    interests = display_line(subscriber.profile.interests, limit=120)
    email = display_line(subscriber.email, limit=254)
    # Product names vary ("digest", "Paper Digest"): never say "digest digest".
    why = f"You get this {adjective} email from {product} because {email} subscribed"
    why += f" with the interests “{interests}”." if interests else "."
    return {
        "brand": brand,
        "subject": subject,
        "preheader": preheader,
        "name": display_line(subscriber.name, limit=80),
        "email": email,
        "edition": {"key": edition.key, "label": label, "adjective": adjective, "unit": unit},
        "papers": papers,
        "count": count,
        "considered": ranking.considered if ranking.considered > count else 0,
        "quiet": ranking.quiet,
        "why": why,
        "dropped": dropped,
        "preferences_url": trusted_url(links.preferences_url, "preferences URL"),
        "unsubscribe_url": trusted_url(links.unsubscribe_url, "unsubscribe URL"),
        "view_url": trusted_url(links.view_url, "view URL") if links.view_url else "",
    }

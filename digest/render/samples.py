"""Sample data for previews, tests and the benchmark: real arXiv papers, invented readers.

Nothing here touches the store; the pipeline's ``build_preview`` supplies real subscribers.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from digest.models import EditionInfo, Paper, Pick, Profile, Ranking, Subscriber
from digest.render.types import Branding, DigestLinks, RenderedEmail

if TYPE_CHECKING:
    from email.message import EmailMessage

    from digest.render.renderer import Renderer

_DATA = Path(__file__).with_name("sample_papers.json")
_REASONS = (
    "matches your interest in “sequence models”",
    "by an author you follow",
    "trending on Hugging Face this week",
    "similar to a paper you liked",
    "in cs.CL, one of your categories",
)


@cache
def sample_papers() -> tuple[Paper, ...]:
    raw = json.loads(_DATA.read_text(encoding="utf-8"))["papers"]
    base = datetime(2026, 11, 23, tzinfo=UTC)
    return tuple(
        Paper(
            id=p["id"],
            title=p["title"],
            abstract=p["abstract"],
            authors=tuple(p["authors"]),
            url=p["url"],
            pdf_url=p["pdf_url"],
            code_url=p.get("code_url"),
            categories=tuple(p["categories"]),
            published=base + timedelta(hours=7 * i),
            summary=p.get("summary"),
            upvotes=p.get("upvotes"),
            stars=p.get("stars"),
            sources=("arxiv",),
        )
        for i, p in enumerate(raw)
    )


def sample_branding() -> Branding:
    return Branding(
        product_name="Paper Digest",
        accent_color="#3b5bdb",
        postal_address="Example Lab, 1 Research Way, 10115 Berlin, Germany",
        base_url="https://digest.example.org",
    )


def sample_subscriber(n: int = 0, *, name: str | None = None) -> Subscriber:
    interests = ("long-context language models", "sequence modeling and state spaces")[n % 2]
    return Subscriber(
        id=1000 + n,
        email=f"reader{n}@example.org",
        name=name if name is not None else ("Ada Lovelace", "Grace Hopper", "")[n % 3],
        profile=Profile(interests=interests),
    )


def sample_ranking(n: int = 0, *, count: int = 10, quiet: bool = False) -> Ranking:
    papers = sample_papers()
    picks = tuple(
        Pick(
            paper=papers[(n + i) % len(papers)],
            score=1.0 - i / 20,
            reasons=(_REASONS[(n + i) % len(_REASONS)], _REASONS[(n + i + 2) % len(_REASONS)]),
        )
        for i in range(count)
    )
    return Ranking(picks=picks, quiet=quiet, considered=240 + n)


def sample_edition() -> EditionInfo:
    return EditionInfo(
        key="weekly:2026-W48",
        frequency="weekly",
        period_start=datetime(2026, 11, 23, tzinfo=UTC),
        period_end=datetime(2026, 11, 30, tzinfo=UTC),
    )


def sample_links(subscriber: Subscriber, base_url: str = "https://digest.example.org") -> DigestLinks:
    token = f"tok{subscriber.id}"

    def feedback(paper_id: str, kind: str) -> str:
        return f"{base_url}/feedback/{token}/{quote(paper_id, safe='', errors='replace')}/{kind}"

    return DigestLinks(
        unsubscribe_url=f"{base_url}/unsubscribe/{token}",
        preferences_url=f"{base_url}/preferences/{token}",
        feedback_url=feedback,
        list_unsubscribe_mailto=f"mailto:unsubscribe@digest.example.org?subject=unsubscribe%20{token}",
    )


def sample_message(
    renderer: Renderer | None = None, n: int = 0
) -> tuple[Subscriber, RenderedEmail, EmailMessage]:
    """A rendered and composed sample digest, as the pipeline would produce it."""
    from digest.compose import compose_message, make_message_id
    from digest.render.renderer import Renderer as _Renderer
    from digest.render.renderer import default_templates_dir

    renderer = renderer or _Renderer(default_templates_dir(), branding=sample_branding())
    sub = sample_subscriber(n)
    links = sample_links(sub)
    edition = sample_edition()
    rendered = renderer.render_digest(subscriber=sub, ranking=sample_ranking(n), edition=edition,
                                      links=links)
    message = compose_message(
        rendered, to_addr=sub.email, to_name=sub.name, from_addr="digest@digest.example.org",
        from_name="Paper Digest", message_id=make_message_id(edition.key, sub.id, "digest.example.org"),
        date=datetime(2026, 11, 30, 8, 0, tzinfo=UTC), list_id="Paper Digest <weekly.digest.example.org>",
        unsubscribe_url=links.unsubscribe_url, unsubscribe_mailto=links.list_unsubscribe_mailto,
    )
    return sub, rendered, message

"""The email never clips: Gmail hides everything past ~102 KB of HTML, the footer's manage
links included. Field case 13 (tests/fixtures/field_cases/13_wide_reader.toml): a reader who
asks for the maximum of 50 papers; at 30 whole cards the HTML was 106.6 KB."""

from __future__ import annotations

import re
import tomllib
from dataclasses import replace
from html import unescape
from pathlib import Path

import pytest

from digest.feeds.parse import parse_feed
from digest.links import Links
from digest.models import Paper, Pick, Profile, Ranking, Subscriber
from digest.profiles import validate_profile
from digest.render import Renderer, default_templates_dir
from digest.render.samples import sample_branding, sample_edition

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SEED_FEED = Path(__file__).resolve().parents[2] / "seeds" / "arxiv_seed.xml"
GMAIL_CLIP = 102 * 1024  # Gmail's documented-by-experience clip point
LIMIT = 100_000  # the bound: every digest's HTML under 100 KB


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(default_templates_dir(), branding=sample_branding())


def wide_reader() -> Subscriber:
    data = tomllib.loads((FIXTURES / "field_cases" / "13_wide_reader.toml").read_text())
    profile = validate_profile(data)
    assert profile.papers_per_email == 50  # the maximum the preferences form allows
    return Subscriber(id=987654, email=profile.email, name=profile.name,
                      profile=Profile(interests=profile.interests))


def seed_papers() -> list[Paper]:
    """The seed feed's 60 real arXiv papers with their full abstracts."""
    papers = parse_feed(SEED_FEED.read_bytes(), source="seed").papers
    assert len(papers) == 60 and min(len(p.abstract) for p in papers) > 500
    return papers


def links(sub: Subscriber) -> Links:
    # Real signed tokens: their length is part of what a link costs.
    return Links("https://digest.example.org", "k" * 40, "digest@example.org")


def render(renderer: Renderer, sub: Subscriber, papers: list[Paper]) -> tuple[str, str]:
    picks = tuple(Pick(paper=p, score=1.0 - i / 100,
                       reasons=("matches your interest in \u201cstate space models\u201d",
                                "similar to a paper you liked"))
                  for i, p in enumerate(papers))
    out = renderer.render_digest(
        subscriber=sub, ranking=Ranking(picks=picks, considered=240), edition=sample_edition(),
        links=links(sub).for_digest(sub.id, sub.public_id, edition_key="weekly:2026-W48"))
    return out.html, out.text


def test_fifty_real_papers_stay_under_the_clip_with_every_paper_shown(renderer: Renderer
                                                                       ) -> None:
    sub = wide_reader()
    papers = seed_papers()[:50]
    html, text = render(renderer, sub, papers)
    size = len(html.encode("utf-8"))
    print(f"50 papers: {size} bytes of HTML")
    assert size < LIMIT < GMAIL_CLIP
    page = unescape(html)
    for paper in papers:  # every pick is still in the email, lean or whole
        assert " ".join(paper.title.split())[:60] in " ".join(page.split())
    assert "did not fit" not in page
    # The first ten keep whole cards: their excerpt is there.
    assert page.count("Why it\u2019s here:") == 10
    # The manage links sit above the first paper, where no clip can reach them.
    first_paper = page.index("<h2")
    for path in ("/unsubscribe/", "/preferences/", "/view/"):
        assert -1 < page.find(path) < first_paper, path
    assert "View in your browser: https://digest.example.org/view/" in text


def test_ten_papers_keep_the_whole_cards(renderer: Renderer) -> None:
    html, _ = render(renderer, wide_reader(), seed_papers()[:10])
    assert unescape(html).count("Why it\u2019s here:") == 10
    assert "More</a>" not in html  # lean cards' short label: none here


def test_hostile_papers_still_fit_and_say_what_was_left_out(renderer: Renderer) -> None:
    """Worst inputs a feed can give: 300-char titles, huge abstracts, 200 authors, ids of
    300 characters (each feedback link signs the id)."""
    base = seed_papers()[0]
    papers = [replace(base, id="url:https://example.org/" + f"{i:03d}" + "x" * 270,
                      title=("A very long title " * 30)[:300] + str(i),
                      abstract="We propose a method. " * 400,
                      authors=tuple(f"Author Number {j}" for j in range(200)),
                      url="https://example.org/" + "p" * 1500,
                      pdf_url="https://example.org/" + "q" * 1500)
              for i in range(50)]
    html, text = render(renderer, wide_reader(), papers)
    assert len(html.encode("utf-8")) < LIMIT
    page = unescape(html)
    dropped = re.search(r"(\d+) more papers did not fit in one email", page)
    assert dropped is not None
    shown = page.count("<h2")
    assert shown + int(dropped.group(1)) == 50 and shown >= 10
    assert "/unsubscribe/" in page[page.rindex("did not fit"):]  # footer still there
    assert "did not fit in one email" in text

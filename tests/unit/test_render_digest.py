"""Digest and notice rendering: content, size, compile-once equivalence, template reloads."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import replace
from html import unescape
from pathlib import Path

import pytest

from digest.models import Pick, Ranking
from digest.render import RenderedEmail, Renderer, default_templates_dir
from digest.render.samples import (
    sample_branding,
    sample_edition,
    sample_links,
    sample_papers,
    sample_ranking,
    sample_subscriber,
)

NOTICE_KINDS = ("confirm", "welcome", "goodbye")


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(default_templates_dir(), branding=sample_branding())


def render(renderer: Renderer, n: int = 0, **ranking_kw: object) -> RenderedEmail:
    sub = sample_subscriber(n)
    return renderer.render_digest(
        subscriber=sub,
        ranking=sample_ranking(n, **ranking_kw),  # type: ignore[arg-type]
        edition=sample_edition(),
        links=sample_links(sub),
    )


def test_digest_has_the_issue_content(renderer: Renderer) -> None:
    out = render(renderer)
    assert out.html.isascii()  # non-ASCII travels as character references (7bit part)
    html, text = unescape(out.html), out.text
    assert out.subject == "Paper Digest: 10 papers for 23\u201329 Nov 2026"
    assert out.preheader.startswith("Top pick: Order Matters")
    assert "23\u201329 Nov 2026 · 10 papers picked for you" in html
    assert '<a class="dg-title" href="https://arxiv.org/abs/1511.06391"' in html
    assert html.count("<h2") == 10 and html.count("<h1") == 1  # real headings
    assert "Yujie Wang, Shiju Wang, Shenhan Zhu et al." in html  # 10 authors shortened
    assert "Why it\u2019s here:</strong> matches your interest in" in html
    assert 'href="https://arxiv.org/pdf/1506.03134">PDF</a>' in html
    assert 'href="https://github.com/devsisters/pointer-network-tensorflow">Code</a>' in html
    assert "▲ 57 upvotes" in html and "★ 2,600 GitHub stars" in html
    assert 'href="https://digest.example.org/feedback/tok1000/1511.06391/more"' in html
    assert 'href="https://digest.example.org/feedback/tok1000/1511.06391/less"' in html
    assert 'href="https://digest.example.org/unsubscribe/tok1000"' in html
    assert 'href="https://digest.example.org/preferences/tok1000"' in html
    assert "Example Lab, 1 Research Way, 10115 Berlin, Germany" in html
    assert "You get this weekly email from Paper Digest because" in html
    assert "A quiet week" not in html
    # The source's own summary replaces the abstract excerpt (paper 9 has one).
    assert "Overfitting a pretrained LLM to near-zero training loss" in html
    # The preheader is the hidden first text of the body.
    body = html.split("<body", 1)[1]
    assert body.index(out.preheader) < body.index("Your weekly papers")
    for needle in (
        "1. Order Matters: Sequence to sequence for sets",
        "   Yujie Wang, Shiju Wang, Shenhan Zhu et al.",
        "   PDF: https://arxiv.org/pdf/1506.03134",
        "   More like this: https://digest.example.org/feedback/tok1000/1511.06391/more",
        "Unsubscribe (one click): https://digest.example.org/unsubscribe/tok1000",
    ):
        assert needle in text
    assert max(len(line) for line in text.splitlines() if "://" not in line) <= 72


def test_quiet_week_notice(renderer: Renderer) -> None:
    out = render(renderer, count=2, quiet=True)
    assert "A quiet week: only 2 papers cleared your relevance bar" in out.html
    assert "A quiet week: only 2 papers cleared your relevance bar" in out.text
    empty = render(renderer, count=0, quiet=True)
    assert empty.subject == "Paper Digest: a quiet week (23\u201329 Nov 2026)"
    assert "nothing new cleared your relevance bar" in empty.html
    assert "<h2" not in empty.html


def test_ten_paper_digest_stays_under_clipping_size(renderer: Renderer) -> None:
    # Gmail clips at ~102 KB and hides the footer; keep a margin. Use the longest papers.
    papers = sorted(sample_papers(), key=lambda p: len(p.abstract) + len(p.title), reverse=True)
    picks = tuple(Pick(paper=p, score=1.0, reasons=("a reason " * 15, "another")) for p in papers)
    sub = sample_subscriber(1)
    out = renderer.render_digest(
        subscriber=sub,
        ranking=Ranking(picks=picks[:10], considered=500),
        edition=sample_edition(),
        links=sample_links(sub),
    )
    assert out.html.count("<h2") == 10
    assert len(out.html.encode("utf-8")) < 90_000


@pytest.mark.parametrize("n", [0, 1, 2])
def test_compiled_once_output_equals_compiling_per_message(renderer: Renderer, n: int) -> None:
    sub = sample_subscriber(n, name=["Zoë <Ünïcode> & Co", "", "O'Brien \"Q\""][n])
    for ranking in (sample_ranking(n), sample_ranking(n, count=3, quiet=True)):
        context = renderer.digest_context(sub, ranking, sample_edition(), sample_links(sub))
        assert renderer.render_html("digest", context) == renderer.render_html_per_message(
            "digest", context
        )


@pytest.mark.parametrize("kind", NOTICE_KINDS)
def test_notice_renders_escaped_with_its_action(kind: str) -> None:
    renderer = Renderer(default_templates_dir(), branding=sample_branding())
    for _ in range(3):
        out = renderer.render_notice(
            kind,
            email="a@example.org",
            name="Zoë <i>",
            action_url="https://x.example/act?t=1&u=2",
            extra={"interests": "LLMs & <b>agents</b>", "unsubscribe_url": "https://x.example/u"},
        )
    assert 'href="https://x.example/act?t=1&amp;u=2"' in out.html
    assert "https://x.example/act?t=1&u=2" in out.text
    assert "Paper Digest" in out.subject and out.preheader
    assert "<b>agents" not in out.html and "<i>" not in out.html
    assert "<h1" in out.html and 'href="https://x.example/u"' in out.html
    assert renderer.compiler.compiles == 1


def test_notice_paths_match(renderer: Renderer) -> None:
    for kind in NOTICE_KINDS:
        context = {
            "brand": renderer._brand, "subject": "S", "preheader": "P", "name": "N",
            "email": "e@example.org", "action_url": "https://x.example/a", "extra": {},
            "why": "why", "preferences_url": "https://x.example/p", "unsubscribe_url": "",
        }
        assert renderer.render_html(kind, context) == renderer.render_html_per_message(
            kind, context
        )


def test_mjml_compiles_once_across_many_subscribers() -> None:
    renderer = Renderer(default_templates_dir(), branding=sample_branding())
    for n in range(25):
        render(renderer, n)
    assert renderer.compiler.compiles == 1


def _copy_templates(tmp_path: Path) -> Path:
    target = tmp_path / "templates"
    shutil.copytree(default_templates_dir(), target)
    return target


def test_template_edit_recompiles_and_touch_does_not(tmp_path: Path) -> None:
    templates = _copy_templates(tmp_path)
    renderer = Renderer(templates, branding=sample_branding())
    assert "Your weekly papers" in render(renderer).html
    assert renderer.compiler.compiles == 1

    partial = templates / "_footer.mjml.j2"
    stat = partial.stat()
    os.utime(partial, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    render(renderer)
    assert renderer.compiler.compiles == 1  # same content: no MJML compile

    main = templates / "digest.mjml.j2"
    main.write_text(main.read_text().replace("Your {{ edition.adjective }}", "Fresh"))
    stat = main.stat()
    os.utime(main, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10_000_000_000))
    assert "Fresh papers" in render(renderer).html
    assert renderer.compiler.compiles == 2

    partial.write_text(partial.read_text().replace("Change your preferences", "Tune it"))
    os.utime(partial, ns=(stat.st_atime_ns, stat.st_mtime_ns + 20_000_000_000))
    assert "Tune it" in render(renderer).html  # a partial edit is seen too
    assert renderer.compiler.compiles == 3


def test_unknown_notice_kind_is_a_render_error(renderer: Renderer) -> None:
    from digest.errors import RenderError

    with pytest.raises(RenderError):
        renderer.render_notice("bogus", email="a@b.org", name="", action_url="https://x.org")  # type: ignore[arg-type]


def test_our_own_bad_link_is_a_render_error(renderer: Renderer) -> None:
    from digest.errors import RenderError

    sub = sample_subscriber(0)
    links = replace(sample_links(sub), unsubscribe_url="javascript:alert(1)")
    with pytest.raises(RenderError, match="unsubscribe URL"):
        renderer.render_digest(
            subscriber=sub, ranking=sample_ranking(0), edition=sample_edition(), links=links
        )


def test_accent_colour_comes_from_branding() -> None:
    branding = replace(sample_branding(), accent_color="#c2255c", product_name="Lab Papers")
    out = render(Renderer(default_templates_dir(), branding=branding))
    assert "#c2255c" in out.html and "Lab Papers" in out.subject
    assert re.search(r"color:\s*#c2255c", out.html)

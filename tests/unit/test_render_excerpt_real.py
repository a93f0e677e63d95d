"""Excerpts of real arXiv abstracts that carry TeX, numbers compared with "vs." and
contributions phrased "by introducing" (a breaker's report on issue 17, checked on the
recorded API and RSS captures in tests/fixtures/feeds). The expected text was read off each
abstract; the Unicode for the math is how it typesets."""

from __future__ import annotations

from pathlib import Path

import pytest

from digest.app.rank import read_feed_files
from digest.models import Paper
from digest.render.context import paper_fields
from digest.render.fields import excerpt
from digest.render.mathtext import typeset_math

FEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"


@pytest.fixture(scope="module")
def papers() -> dict[str, Paper]:
    files = [FEEDS / "arxiv_api" / "arxivpy_bodies" / "arxivpy_q_testing_s0_m100_cfe7536492ca.xml",
             FEEDS / "arxiv_rss" / "atom_rss-arxiv_cs_ai_2025-08-20_zotero-arxiv-daily.xml",
             FEEDS / "arxiv_rss"
             / "atom_rss-arxiv_cs_ai_2025-08-20_87entries_TRUNCATED-at-EOF_zotero-arxiv-daily.xml"]
    return {p.id: p for p in read_feed_files(files).papers}


def test_a_comparison_with_vs_is_not_a_sentence_end(papers: dict[str, Paper]) -> None:
    text = excerpt(papers["1908.03707"].abstract)
    assert "96.01% vs. 55.68%" in text or "96.01%" not in text
    assert not text.endswith("vs.")


def test_by_introducing_is_a_contribution(papers: dict[str, Paper]) -> None:
    text = excerpt(papers["2508.13434"].abstract)
    assert text.startswith("In this work, we address these challenges by introducing event-aware")
    assert "Time series forecasting plays a vital role" not in text  # the background opening


def test_inline_math_is_typeset_as_unicode(papers: dict[str, Paper]) -> None:
    text = excerpt(papers["2007.09895"].abstract)
    assert "using Õ(ε^-2) queries" in text
    assert "$" not in text and "\\" not in text


def test_display_math_is_typeset_or_kept_whole(papers: dict[str, Paper]) -> None:
    text = excerpt(papers["2106.13414"].abstract)
    assert "\\frac" not in text and "\\left" not in text and "\\[" not in text
    assert "√(n)" in text


def test_text_macros_show_their_text(papers: dict[str, Paper]) -> None:
    assert "we introduce TS-Agent, a modular agentic framework" in excerpt(
        papers["2508.13915"].abstract)


@pytest.mark.parametrize(("tex", "shown"), [
    (r"$k$-means clustering", "k-means clustering"),
    (r"an $\ell_1$-norm with $k \leq n$", "an \u2113_1-norm with k \u2264 n"),  # script l, less-or-equal
    (r"costs $\$5$ and 30% of $x_i$", "costs $5 and 30% of x_i"),  # % is prose, not a comment
    (r"accuracy of $95\%$", "accuracy of 95%"),
    (r"$O(s^\delta\varepsilon)$", "O(s^δε)"),
    ("price $5 and $10", "price $5 and $10"),  # dollars, not math: one pair, prose between
    (r"an unknown $\foo{x}$ macro", r"an unknown $\foo{x}$ macro"),  # kept as written
    ("no math at all", "no math at all"),
])
def test_typeset_math(tex: str, shown: str) -> None:
    assert typeset_math(tex) == shown


def test_a_title_shows_its_math_typeset() -> None:
    title = r"Tight bounds for $k$-means with $\varepsilon$-coresets"
    shown = paper_fields(Paper(id="2601.00009", title=title, abstract="We prove it.")).title
    assert shown == "Tight bounds for k-means with ε-coresets"


def test_an_abstract_the_source_cut_short_ends_with_an_ellipsis() -> None:
    assert excerpt("We propose FooNet, a model that runs on phones with app").endswith(
        "with app…")
    assert excerpt("We propose FooNet. It runs on phones.") == "We propose FooNet."
    assert excerpt("We propose FooNet (see Fig. 2).") == "We propose FooNet (see Fig. 2)."

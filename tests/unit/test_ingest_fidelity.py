"""Ingest fidelity on fixtures written for it (tests/fixtures/feeds/fidelity/, modelled on the
real feeds in ../shared/realdata): the exact title, authors and abstract each entry must be
stored with. Expected values are what the paper says, worked out by hand from the source
text: text-typed fields keep "<think>" and "a < b", HTML fields lose their markup, arXiv TeX
becomes Unicode with math left as written, declared UTF-8 stays UTF-8, mojibake is repaired.
"""

from __future__ import annotations

import pytest

from digest.feeds import parse_feed
from digest.feeds.encoding import agreed_utf8, as_declared_utf8, document_charset
from digest.feeds.parse import ParsedFeed
from digest.feeds.tex import tex_to_unicode
from digest.text import markup_to_text, plain_text, repair_mojibake
from tests.feed_files import FEEDS

FIDELITY = FEEDS / "fidelity"


def parse(name: str, content_type: str | None = None) -> ParsedFeed:
    return parse_feed((FIDELITY / name).read_bytes(), source="t", content_type=content_type)


def stored(feed: ParsedFeed) -> dict[str, tuple[str, tuple[str, ...], str]]:
    return {p.id: (p.title, p.authors, p.abstract) for p in feed.papers}


def test_arxiv_rss_text_tex_and_announce_types() -> None:
    feed = parse("arxiv_rss_cs_ai_fidelity.xml")
    assert feed.kind == "arxiv" and feed.error is None and feed.warning is None
    assert stored(feed) == {
        "2611.10001": (
            "Stop Thinking Early: Budgets for <think> Traces in Reasoning Models",
            ("Jörg Deigmöller", "Anna Fišer"),
            "Reasoning models wrap their traces in <think> and </think> tags. For a budget "
            "$k<n$ with $n>m$ we show accuracy rises when a < b, and falls otherwise."),
        "2611.10002": (
            "Schrödinger Bridges for Erdős–Rényi Graphs",
            ("María Rodríguez", "Paul Lévy"),
            "We study Schrödinger bridges on Erdős–Rényi graphs [3] — with Hölder bounds "
            "$\\|f\\|_{C^{0,\\alpha}}$ and 50% fewer samples, for R&D teams."),
        "2611.10003": (
            "Tool-Using Agents That Ask Before They Act", ("Ines Invented",),
            "Agents that call tools should ask a clarifying question when the request is "
            "ambiguous; we train such agents with a cost for every unnecessary question."),
        "2001.01234": (
            "Reasoning Traces Are Not Explanations", ("Olaf Oldpaper", "Pia Placeholder"),
            "Chain-of-thought reasoning traces of language models are often taken as "
            "explanations; we show they are not faithful to the computation that produced "
            "the answer."),
        "1812.05678": (
            "Budgeted Reasoning for Language Model Agents", ("Quinn Quux",),
            "We bound the reasoning budget of language model agents and study how thinking "
            "traces grow with task difficulty."),
    }
    kinds = {p.id: (p.announce_type, p.version) for p in feed.papers}
    assert kinds == {"2611.10001": ("new", 1), "2611.10002": ("new", 1),
                     "2611.10003": ("cross", 1), "2001.01234": ("replace", 3),
                     "1812.05678": ("replace-cross", 2)}


def test_arxiv_api_text_tex_and_the_version_signal() -> None:
    feed = parse("arxiv_api_fidelity.xml")
    assert feed.kind == "arxiv-api" and feed.error is None
    assert stored(feed)["2611.20001"] == (
        "Lévy Flights in Transformer Attention: $\\alpha$-Stable Heads",
        ("René Descartes-Bot", "Zoë Müller"),
        "We model attention weights as Lévy flights with tail index $\\alpha<2$ and find "
        "heavier tails in later layers (p < 0.01) – a pattern we call the Schrödinger tail.")
    # The API has no announce type: v3 of a 2017 paper is a replacement (its <published> is
    # version 1's date, its <updated> this version's).
    kinds = {p.id: (p.announce_type, p.version) for p in feed.papers}
    assert kinds == {"2611.20001": ("new", 1), "1706.99999": ("replace", 3)}


def test_atom_fields_are_read_by_their_declared_type() -> None:
    feed = parse("atom_generic_content_types.xml")
    assert stored(feed) == {
        "url:https://readinggroup.example.org/posts/1": (
            "Why <b> tags and a < b both belong in a text title",  # type="text"
            ("Ada <Example>",),  # an Atom name is text
            "Models emit <think> blocks; we read them carefully."),  # type="html": HTML
        "url:https://readinggroup.example.org/posts/2": (
            "Sparse attention, k<n",  # type="html": <em> is markup, &lt; is a "<"
            (),
            "Plain text summary: keep <answer> and 3 < 4 exactly."),
    }


def test_hf_json_strings_are_text() -> None:
    feed = parse("hf_daily_papers_fidelity.json")
    paper, = feed.papers
    assert (paper.title, paper.authors, paper.abstract, paper.summary) == (
        "Thinking in <think> Tags: When Reasoning Models Should Stop", ("Zoë Müller",),
        "Reasoning models write traces between <think> and </think>; we expose (i) a stopping "
        "rule and (ii) a budget with $k<n$ steps. Accuracy improves when a < b.",
        "A stopping rule for <think> traces.")


@pytest.mark.parametrize("content_type", [None, "application/rss+xml; charset=UTF-8"])
def test_declared_utf8_with_a_bad_byte_stays_utf8(content_type: str | None) -> None:
    feed = parse("rss_declared_utf8_bad_byte.xml", content_type)
    assert feed.error is None and feed.replaced_bytes == 1
    assert feed.fidelity_notes() == ["declared UTF-8: 1 invalid byte sequence replaced with U+FFFD"]
    assert stored(feed) == {"url:https://mathgroup.example.org/p/1": (
        "Hölder continuity of Lévy processes", ("Jürgen Groß",),
        "We prove Hölder continuity for Lévy processes on Riemannian manifolds. \ufffd Joint "
        "work with Zoë.")}


def test_transport_that_disagrees_is_left_to_feedparser() -> None:
    data = (FIDELITY / "rss_declared_utf8_bad_byte.xml").read_bytes()
    assert as_declared_utf8(data, "text/xml; charset=windows-1252") == (data, 0)
    feed = parse("rss_declared_utf8_bad_byte.xml", "text/xml; charset=windows-1252")
    assert feed.replaced_bytes == 0


def test_mojibake_is_repaired_and_counted() -> None:
    feed = parse("rss_lab_mojibake.xml")
    assert feed.repaired == 1 and feed.fidelity_notes() == ["mojibake repaired in 1 paper"]
    assert stored(feed) == {
        "url:https://physlab.example.org/p/7": (
            "Schrödinger operators with Hölder potentials", ("Zoë Müller",),
            "Spectral bounds for Schrödinger operators — a note on Erdős-type estimates."),
        "url:https://physlab.example.org/p/8": (
            "A clean title, naïve and café", (), "Nothing to repair here: Lévy, Gödel, 𝛼."),
    }


def test_entry_limit_reads_the_first_entries_and_says_so() -> None:
    data = (FIDELITY / "arxiv_rss_cs_ai_fidelity.xml").read_bytes()
    feed = parse_feed(data, source="t", max_entries=2)
    assert [p.id for p in feed.papers] == ["2611.10001", "2611.10002"]
    assert feed.entries == 5 and feed.over_limit == 3
    assert feed.fidelity_notes() == [
        "entry limit: read the first 2 of 5 entries (DIGEST_FEED_MAX_ENTRIES)"]
    json_feed = parse_feed((FIDELITY / "hf_daily_papers_fidelity.json").read_bytes(),
                           source="t", max_entries=0)
    assert json_feed.papers == [] and json_feed.over_limit == 1


@pytest.mark.parametrize(("tex", "text"), [
    ('J\\"org Deigm\\"oller', "Jörg Deigmöller"),
    ("Fi\\v{s}er", "Fišer"),
    ("Rodr\\'iguez", "Rodríguez"),
    ("R\\'{e}nyi", "Rényi"),
    ('Schr\\"odinger', "Schrödinger"),
    ("{\\\"u}ber, {\\o}ster, Erd\\H{o}s, \\c{C}elik", "über, øster, Erdős, Çelik"),
    ("pages 1--10 --- or so", "pages 1–10 — or so"),
    ("Fig.~3 and R\\&D", "Fig.\u00a03 and R&D"),
    ("``quoted''", "“quoted”"),
    ("\\emph{all} of \\textbf{it}", "all of it"),
    # Math, unknown macros, links and TeX's reserved characters in prose stay as written.
    ("$\\alpha<2$ and $$\\sum_i x_i$$ and \\(y\\)", "$\\alpha<2$ and $$\\sum_i x_i$$ and \\(y\\)"),
    ("50% of R&D, issue #4, costs $5", "50% of R&D, issue #4, costs $5"),
    ("see \\cite{smith} and \\mymacro{x}", "see \\cite{smith} and \\mymacro{x}"),
    ("code at https://x.org/~user/a%20b", "code at https://x.org/~user/a%20b"),
    ("\\url{https://x.org/~u}", "\\url{https://x.org/~u}"),
    ("<think> and k<n", "<think> and k<n"),
    ("no tex at all", "no tex at all"),
])
def test_tex_to_unicode(tex: str, text: str) -> None:
    assert tex_to_unicode(tex) == text


def test_plain_text_never_strips_and_markup_to_text_does() -> None:
    raw = "<think> and k<n, n>m &amp; a < b &copy R&D"
    assert plain_text(raw) == "<think> and k<n, n>m & a < b &copy R&D"
    assert markup_to_text("<p>Uses &lt;think&gt; <b>tags</b></p><script>x</script>") == \
        "Uses <think> tags"


@pytest.mark.parametrize(("head", "content_type", "agreed"), [
    (b'<?xml version="1.0" encoding="UTF-8"?><rss/>', None, True),
    (b'<?xml version="1.0" encoding="utf-8"?><rss/>', "application/xml; charset=utf-8", True),
    (b"\xef\xbb\xbf<rss/>", None, True),
    (b"<rss/>", "text/xml; charset=UTF-8", True),
    (b"<rss/>", None, False),  # nobody said: feedparser guesses as before
    (b'<?xml version="1.0" encoding="iso-8859-1"?><rss/>', None, False),
    (b'<?xml version="1.0" encoding="utf-8"?><rss/>', "text/xml; charset=iso-8859-1", False),
])
def test_utf8_agreement(head: bytes, content_type: str | None, agreed: bool) -> None:
    assert agreed_utf8(head, content_type) is agreed


def test_document_charset_reads_boms_and_declarations() -> None:
    assert document_charset(b"\xff\xfe<\x00") == "utf-16/32"
    assert document_charset(b"<?xml version='1.0' encoding='koi8-r'?>") == "koi8-r"


def test_repair_mojibake_leaves_good_text_alone() -> None:
    assert repair_mojibake("SchrÃ¶dinger") == "Schrödinger"
    for good in ("naïve café", "“quoted”", "中文标题", "Ångström", "plain ascii"):
        assert repair_mojibake(good) == good

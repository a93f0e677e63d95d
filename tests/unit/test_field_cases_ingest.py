"""Field cases 01, 02 and 11 (tests/fixtures/feeds/field_cases/, from shared/field_cases/):
what each README line says digest must do, at the parser. What reaches the store, the email
and the picks is in tests/integration/test_ingest_new_work.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from digest.feeds import parse_feed
from digest.feeds.parse import ParsedFeed

CASES = Path(__file__).resolve().parents[1] / "fixtures" / "feeds" / "field_cases"
THINK_TITLE = "Budgeted Reasoning: Teaching LLMs When to Stop Inside <think> Blocks"
THINK_ABSTRACT = (
    "Reasoning models emit long traces delimited by <think> and <answer> tags. We train a "
    "controller that decides, for every prefix of length $k<n$ with $n>m$ tokens, whether to "
    "keep thinking. Our reward uses the <eos> probability as a stop signal.")


def parse(name: str, content_type: str | None = None) -> ParsedFeed:
    return parse_feed((CASES / name).read_bytes(), source=name, content_type=content_type)


@pytest.mark.parametrize("name", ["01_angle_brackets_api.xml", "01_angle_brackets_rss.xml"])
def test_01_angle_brackets_in_plain_text_are_kept_exactly(name: str) -> None:
    feed = parse(name)
    assert feed.error is None
    think = next(p for p in feed.papers if p.id == "2611.09001")
    assert (think.title, think.abstract, think.authors) == (
        THINK_TITLE, THINK_ABSTRACT, ("Mira Example", "Jon Placeholder"))
    if name.endswith("api.xml"):
        sketch = next(p for p in feed.papers if p.id == "2611.09002")
        assert sketch.title == "Sublinear Sketches for Streams with $a<b$ and $c>d$ Updates"
        assert sketch.abstract == ("We give a sketch using $O(\\log n)$ bits when $a<b$ and "
                                   "$c>d$ hold for every update.")


def test_02_only_the_new_entry_is_new_work() -> None:
    feed = parse("02_arxiv_replace_old_paper.xml")
    seen = {p.id: (p.announce_type, p.version) for p in feed.papers}
    assert seen == {"2611.09010": ("new", 1), "1905.07799": ("replace", 4),
                    "1704.01234": ("replace-cross", 3)}


@pytest.mark.parametrize("content_type", [None, "application/rss+xml; charset=utf-8"])
def test_11_one_bad_byte_leaves_no_mojibake(content_type: str | None) -> None:
    clean = {p.id: p for p in parse("11_utf8_feed.xml", content_type).papers}
    bad = parse("11_utf8_one_bad_byte.xml", content_type)
    assert bad.error is None and bad.replaced_bytes == 1
    got = {p.id: p for p in bad.papers}
    assert set(got) == set(clean)
    for pid, paper in got.items():
        assert (paper.title, paper.authors) == (clean[pid].title, clean[pid].authors)
        for text in (paper.title, paper.abstract, *paper.authors):
            assert "Ã" not in text and "Å" not in text and "â€" not in text
    one = got["url:https://lab.example.org/p/1"]
    assert one.title == "Schrödinger bridges for Erdős–Rényi graphs"
    assert one.authors == ("Zoë Müller",)
    # The invalid byte is the only difference: one U+FFFD where it stood.
    assert one.abstract == clean[one.id].abstract + " \ufffd"

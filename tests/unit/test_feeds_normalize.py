"""Pure helpers of ingest: clean text, authors, ids, links, dates, specs, detection,
Retry-After and the merge rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from digest.errors import ConfigError
from digest.feeds import FeedSpec, parse_feed_specs
from digest.feeds.arxiv import arxiv_id_from, split_abstract_prefix, split_legacy_title
from digest.feeds.detect import detect_kind, not_a_feed_reason
from digest.feeds.fetch import retry_after_seconds
from digest.feeds.normalize import doi_from, normalize_link, split_authors, utc_from_iso
from digest.models import Paper
from digest.store.papers import merge_papers
from digest.text import http_url, markup_to_text


@pytest.mark.parametrize(("raw", "clean"), [
    ("  A  <b>bold</b>\n title ", "A bold title"),
    ("<p>one</p><p>two</p>", "one two"),
    ("x<script>alert(1)</script>y", "xy"),
    ("<style>p{}</style>kept", "kept"),
    ("Caf&eacute; &amp; bar &#8230;", "Café & bar …"),
    ("zero\u200bwidth\u202ebidi\x00nul\x1bESC", "zerowidthbidinulESC"),
    ("tab\tand\r\nnewline", "tab and newline"),
    ("p < 0.05 and a<b", "p < 0.05 and a<b"),
    ("", ""),
    (None, ""),
])
def test_markup_to_text(raw: str | None, clean: str) -> None:
    assert markup_to_text(raw) == clean


@pytest.mark.parametrize(("raw", "authors"), [
    ("Ada Lovelace, Charles Babbage", ["Ada Lovelace", "Charles Babbage"]),
    ("A. One, B. Two and C. Three", ["A. One", "B. Two", "C. Three"]),
    ("LAPALU, N., SIMON, A., O'Connell, R. J.", ["LAPALU, N.", "SIMON, A.", "O'Connell, R. J."]),
    ("X. Y, et al. (909 additional authors not shown)",
     ["X. Y", "et al. (909 additional authors not shown)"]),
    ("Ada <think> Lovelace, B. Two", ["Ada <think> Lovelace", "B. Two"]),  # text, not tags
    ("", []),
])
def test_split_authors(raw: str, authors: list[str]) -> None:
    assert split_authors(raw) == authors


def test_split_authors_takes_text_so_markup_is_removed_first() -> None:
    raw = '<a href="http://arxiv.org/find/a">Robert A. Wilson</a>'
    assert split_authors(markup_to_text(raw)) == ["Robert A. Wilson"]


@pytest.mark.parametrize(("text", "ident"), [
    ("oai:arXiv.org:2604.21935v1", "2604.21935"),
    ("https://arxiv.org/abs/2604.21935", "2604.21935"),
    ("http://arxiv.org/abs/astro-ph/0601001v1", "astro-ph/0601001"),
    ("https://arxiv.org/pdf/math.GR/0601001v2", "math.GR/0601001"),
    ("arXiv:2107.03419v1", "2107.03419"),
    ("https://huggingface.co/papers/2604.21003", "2604.21003"),
    ("https://tldr.takara.ai/p/2604.26238", "2604.26238"),
    ("https://example.com/2604.21003", None),  # unknown host: not assumed to be arXiv
    ("2604.21003", None),  # bare ids only where the source says so
    ("https://arxiv.org/api/errors#incorrect_id_format_for_abc", None),
    (None, None),
])
def test_arxiv_ids(text: str | None, ident: str | None) -> None:
    assert arxiv_id_from(text) == ident


def test_bare_id_when_allowed() -> None:
    assert arxiv_id_from("2607.23193", bare_ok=True) == "2607.23193"
    assert arxiv_id_from("quant-ph/0201082v1", bare_ok=True) == "quant-ph/0201082"


def test_abstract_prefix_and_legacy_titles() -> None:
    assert split_abstract_prefix("arXiv:2508.13426v1 Announce Type: replace-cross \nAbstract: Hi") \
        == ("Hi", "replace-cross")
    assert split_abstract_prefix("No prefix here") == ("No prefix here", None)
    assert split_legacy_title("Fireball. (arXiv:2007.03939v2 [hep-ph] UPDATED)") == \
        ("Fireball", "2007.03939", "replace", "hep-ph")
    assert split_legacy_title("Plain title") == ("Plain title", None, None, None)


def test_links_dois_and_dates() -> None:
    assert http_url("javascript:alert(1)") is None
    assert http_url("https://ok.example/a b") is None
    assert http_url("ftp://x/y") is None
    assert http_url(" https://ok.example/p?q=1 ") == "https://ok.example/p?q=1"
    assert normalize_link("HTTP://Example.COM/a/#frag") == "https://example.com/a"
    assert doi_from("doi:10.1101/2023.12.16.571984") == "10.1101/2023.12.16.571984"
    assert utc_from_iso("2026-07-28T00:00:00.000Z") == datetime(2026, 7, 28, tzinfo=UTC)
    assert utc_from_iso("2026-07-28T02:00:00+02:00") == datetime(2026, 7, 28, tzinfo=UTC)
    assert utc_from_iso("yesterday") is None


def test_feed_specs_syntax() -> None:
    specs = parse_feed_specs([
        "https://rss.arxiv.org/rss/cs.AI",
        "hf=hf-json:https://huggingface.co/api/daily_papers",
        "api=https://export.arxiv.org/api/query?search_query=cat:cs.LG&max_results=50",
        "arxiv:seeds/arxiv_seed.xml",
        "https://rss.arxiv.org/rss/cs.AI",  # duplicate dropped
        "  ",
    ])
    assert specs == [
        FeedSpec("cs.AI", "https://rss.arxiv.org/rss/cs.AI"),
        FeedSpec("hf", "https://huggingface.co/api/daily_papers", "hf-json"),
        FeedSpec("api", "https://export.arxiv.org/api/query?search_query=cat:cs.LG&max_results=50"),
        FeedSpec("arxiv_seed", "seeds/arxiv_seed.xml", "arxiv"),
    ]
    with pytest.raises(ConfigError, match="DIGEST_FEEDS"):
        parse_feed_specs(["name=arxiv:"])


def test_detection() -> None:
    assert detect_kind(b'[{"paper": {}}]') == "hf-json"
    assert detect_kind(b"\xef\xbb\xbf<feed><id>https://arxiv.org/api/x</id></feed>") == "arxiv-api"
    assert detect_kind(b'<rss xmlns:arxiv="http://arxiv.org/schemas/atom"/>') == "arxiv"
    assert detect_kind(b"<rss><channel><title>Hugging Face Daily Papers</title>") == "hf-rss"
    assert detect_kind(b"<rss/>") == "rss"
    assert not_a_feed_reason(b"<rss/>") is None
    assert "HTML" in (not_a_feed_reason(b"<!-- x --><!doctype html><p>") or "")
    assert "text/html" in (not_a_feed_reason(b"Oops", "text/html; charset=utf-8") or "")


def test_retry_after() -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds("Thu, 01 Jan 2026 12:00:30 GMT", now=now) == 30.0
    assert retry_after_seconds("Thu, 01 Jan 2026 11:00:00 GMT", now=now) == 0.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_merge_rules() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    arxiv = Paper(id="1", title="Real title", abstract="A", categories=("cs.LG",),
                  sources=("arxiv",), published=t0, first_seen=t0, announce_type="new")
    hf = Paper(id="1", title="Translated title", abstract="", sources=("hf",), upvotes=9,
               summary="tl;dr", published=t0 - timedelta(days=1))
    merged = merge_papers(arxiv, hf, authoritative=False)
    assert (merged.title, merged.abstract, merged.upvotes, merged.summary) == \
        ("Real title", "A", 9, "tl;dr")
    assert merged.sources == ("arxiv", "hf") and merged.first_seen == t0
    assert merged.published == t0 - timedelta(days=1)
    revised = Paper(id="1", title="Revised title", sources=("arxiv",), announce_type="replace",
                    version=2)
    again = merge_papers(merged, revised)
    # The text is the newest; how digest first met the paper (new work) never changes.
    assert (again.title, again.announce_type, again.version, again.upvotes, again.first_seen) \
        == ("Revised title", "new", 2, 9, t0)
    assert merge_papers(again, Paper(id="1", title="Revised title", version=1)).version == 2


def test_overlong_links_make_bounded_ids() -> None:
    from digest.feeds import parse_feed

    link = "https://example.org/" + "a" * 400
    body = (f"<rss version='2.0'><channel><item><title>T</title><link>{link}</link>"
            "</item></channel></rss>").encode()
    paper = parse_feed(body, source="x").papers[0]
    assert paper.url == link and len(paper.id) <= 300 and paper.id.startswith("url:sha256:")

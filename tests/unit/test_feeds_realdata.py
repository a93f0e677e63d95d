"""Every recorded real feed (arXiv RSS/Atom/API, HF daily papers, other feeds) through
parse_feed: counts, errors, and the arXiv-specific normalization on real entries."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from digest.feeds import parse_feed
from digest.feeds.parse import ParsedFeed
from tests.feed_files import FEEDS as FIX
from tests.feed_files import REFERENCE_ONLY, feed_file

# file -> (kind, papers, error substring or None). Every feed file (not the feedparser
# cases, see test_feeds_feedparser_cases.py), committed or reference-only (read from
# ../shared/realdata, see tests/feed_files.py), is listed; a new fixture must be added here.
EXPECTED: dict[str, tuple[str, int, str | None]] = {
    "arxiv_rss/atom_rss-arxiv_cs_ai_2025-08-20_87entries_TRUNCATED-at-EOF_zotero-arxiv-daily.xml":
        ("arxiv", 87, "malformed"),
    "arxiv_rss/atom_rss-arxiv_cs_ai_2025-08-20_zotero-arxiv-daily.xml": ("arxiv", 7, None),
    "arxiv_rss/legacy_rss1.0_rdf_hep-ex_2021-07-08_PhysBiblio_sampleDailyFeed1.xml":
        ("arxiv", 3, None),
    "arxiv_rss/legacy_rss1.0_rdf_hep-ex_2021-07-08_PhysBiblio_sampleDailyFeed2.xml":
        ("arxiv", 2, None),
    "arxiv_rss/rss_cs_ai_2026-04-27_jmamath-distill.xml": ("arxiv", 3, None),
    "arxiv_rss/rss_cs_cl_2026-04-27_jmamath-distill.xml": ("arxiv", 3, None),
    "arxiv_rss/rss_cs_cl_weekend_empty_2026-08-01_All-News-AI.xml": ("arxiv", 0, None),
    "arxiv_rss/rss_cs_lg_2026-04-27_jmamath-distill.xml": ("arxiv", 3, None),
    "arxiv_api/api_cat_cs.LG_OR_cs.AI_max20_brevio-ai.xml": ("arxiv-api", 20, None),
    "arxiv_api/api_cs.AI_LG_CL_max25_personal-news-feed.xml": ("arxiv-api", 25, None),
    "arxiv_api/api_transformer_cs.LG_max5_sotawhat.xml": ("arxiv-api", 5, None),
    "arxiv_api/legacy2016_api_au_del_maestro_arxivpy.xml": ("arxiv-api", 10, None),
    "hf_papers/daily_papers_2026-06-12_sotawhat.json": ("hf-json", 30, None),
    "hf_papers/daily_papers_2026-07-31_All-News-AI.json": ("hf-json", 5, None),
    "hf_papers/daily_papers_2026-07-31_personal-news-feed.min.json": ("hf-json", 30, None),
    "hf_papers/hf_daily_papers_rss_feedgen_2026-04-30_brevio-ai.xml": ("hf-rss", 22, None),
    "hf_papers/takara_tldr_daily_papers_rss_2026-04-30_brevio-ai.xml": ("rss", 50, None),
    "other_feeds/Toseic-Arxiv-RSS_derived_no_version_bad_dates.xml": ("rss", 31, None),
    "other_feeds/cn-chat-arxiv_stat.ML_2026-08-21_derived.xml": ("rss", 28, None),
    "other_feeds/cn-chat-arxiv_stat.ML_empty_channel.xml": ("rss", 0, None),
    "other_feeds/feed-rs_rss_0.91_encoding_2.xml": ("rss", 1, None),
    "other_feeds/feed-rs_rss_1.0_biorxiv.xml": ("rss", 1, None),
    "other_feeds/feed-rs_rss_1.0_debian.xml": ("rss", 1, None),
    "other_feeds/feed-rs_rss_1.0_iso8859.xml": ("rss", 1, None),
    "other_feeds/feed-rs_rss_2.0_encoding_1.xml": ("rss", 1, None),
}
RECORDINGS = sorted(p.name for p in (FIX / "arxiv_api").glob("arxivpy_*.json"))


def parse(rel: str) -> ParsedFeed:
    return parse_feed(feed_file(rel).read_bytes(), source="test")


def test_every_feed_fixture_is_listed() -> None:
    on_disk = {p.relative_to(FIX).as_posix() for d in ("arxiv_rss", "hf_papers", "other_feeds")
               for p in (FIX / d).iterdir()}
    on_disk |= {p.relative_to(FIX).as_posix() for p in (FIX / "arxiv_api").glob("*.xml")}
    assert not on_disk & set(REFERENCE_ONLY)  # never committed: no licence to redistribute
    assert on_disk | set(REFERENCE_ONLY) == set(EXPECTED)


@pytest.mark.parametrize("rel", sorted(EXPECTED))
def test_feed_fixture(rel: str) -> None:
    kind, count, error = EXPECTED[rel]
    feed = parse(rel)
    assert (feed.kind, len(feed.papers)) == (kind, count)
    if error is None:
        assert feed.error is None
    else:
        assert feed.error and error in feed.error
    for paper in feed.papers:
        assert paper.id and paper.title and "<" not in paper.title
        assert not paper.abstract.startswith("arXiv:")
        assert paper.url is None or paper.url.startswith(("http://", "https://"))
        for when in (paper.published, paper.updated):
            assert when is None or when.tzinfo is UTC


@pytest.mark.parametrize("name", RECORDINGS)
def test_arxivpy_recorded_bodies_match_their_status(name: str) -> None:
    """The JSON recordings hold {url, status_code, body}; bodies/ has the same body."""
    recording = json.loads((FIX / "arxiv_api" / name).read_text())
    body = (FIX / "arxiv_api" / "arxivpy_bodies" / name.replace(".json", ".xml")).read_bytes()
    assert body == recording["body"].encode()
    feed = parse_feed(body, source="api")
    assert feed.kind == "arxiv-api"
    if recording["status_code"] == 400:
        assert feed.error == "arXiv API error: incorrect id format for abc" and not feed.papers
    else:
        assert feed.error is None
        total = int(body.split(b"totalResults>")[1].split(b"<")[0])
        assert len(feed.papers) == min(total, feed.entries)


def test_truncated_atom_keeps_87_entries_and_reports_the_cut() -> None:
    feed = parse(next(k for k in EXPECTED if "TRUNCATED" in k))
    assert len(feed.papers) == 87 and feed.error and "kept the 87 entries" in feed.error
    types = [p.announce_type for p in feed.papers]
    assert types.count("cross") == 45 and types.count("new") >= 41
    assert feed.papers[0].id == "2508.13167"


def test_weekend_empty_feed_is_ok_with_no_papers() -> None:
    feed = parse("arxiv_rss/rss_cs_cl_weekend_empty_2026-08-01_All-News-AI.xml")
    assert feed.error is None and feed.papers == [] and feed.title == "cs.CL updates on arXiv.org"


def test_arxiv_rss_entry_is_normalized() -> None:
    paper = parse("arxiv_rss/rss_cs_ai_2026-04-27_jmamath-distill.xml").papers[0]
    assert paper.id == "2604.21935"
    assert paper.abstract.startswith("Although language models demonstrate")
    assert paper.authors == ("Michael Cooper", "Samuel Cooper")
    assert paper.categories == ("cs.AI", "cs.LG")
    assert paper.announce_type == "new"
    assert paper.url == "https://arxiv.org/abs/2604.21935"
    assert paper.pdf_url == "https://arxiv.org/pdf/2604.21935"
    assert paper.published == datetime(2026, 4, 27, 4, 0, tzinfo=UTC)


def test_legacy_rdf_titles_creators_and_announce_types() -> None:
    papers = parse("arxiv_rss/legacy_rss1.0_rdf_hep-ex_2021-07-08_PhysBiblio_sampleDailyFeed1.xml"
                   ).papers
    lhcb, cross, updated = papers
    assert lhcb.title.endswith("decays") and "arXiv:" not in lhcb.title
    assert lhcb.authors == ("LHCb collaboration", "R. Aaij",
                            "et al. (909 additional authors not shown)")
    assert (lhcb.announce_type, cross.announce_type, updated.announce_type) == \
        ("new", "cross", "replace")
    assert cross.categories == ("math.GR",) and updated.id == "2007.03939"
    assert updated.published == datetime(2021, 7, 9, 1, 30, tzinfo=UTC)  # the channel date


def test_old_style_ids() -> None:
    astro = parse("arxiv_api/arxivpy_bodies/arxivpy_id_astro-ph_0601001_s0_m100_3150dca9dc76.xml")
    assert [p.id for p in astro.papers] == ["astro-ph/0601001"]
    assert astro.papers[0].pdf_url == "https://arxiv.org/pdf/astro-ph/0601001"
    quant = parse("arxiv_api/arxivpy_bodies/arxivpy_id_quant-ph_0201082v1_s0_m100_86989fe779ef.xml")
    assert [p.id for p in quant.papers] == ["quant-ph/0201082"]


def test_hf_daily_papers_signals() -> None:
    papers = {p.id: p for p in parse("hf_papers/daily_papers_2026-07-31_All-News-AI.json").papers}
    omni = papers["2607.23193"]
    assert omni.upvotes == 3 and omni.comments == 2 and omni.stars == 3
    assert omni.code_url == "https://github.com/MAC-AutoML/OmniScope"
    assert omni.authors[0] == "Jinsen Su" and omni.url == "https://arxiv.org/abs/2607.23193"
    summaries = [p.summary for p in parse("hf_papers/daily_papers_2026-06-12_sotawhat.json").papers]
    assert all(summaries) and max(
        p.upvotes or 0 for p in parse("hf_papers/daily_papers_2026-06-12_sotawhat.json").papers
    ) == 118


def test_hf_rss_description_fields() -> None:
    paper = parse("hf_papers/hf_daily_papers_rss_feedgen_2026-04-30_brevio-ai.xml").papers[0]
    assert paper.id == "2604.21003" and paper.upvotes == 1
    assert paper.authors == ("Haebin Seong", "Li Yin", "Haoran Zhang")
    assert paper.abstract.startswith("AI agents are increasingly deployed")


def test_biorxiv_doi_and_surname_initial_authors() -> None:
    paper = parse("other_feeds/feed-rs_rss_1.0_biorxiv.xml").papers[0]
    assert paper.id == "doi:10.1101/2023.12.16.571984"
    assert paper.authors[:2] == ("LAPALU, N.", "SIMON, A.") and len(paper.authors) == 10


def test_derived_feed_on_another_host_maps_to_arxiv_id() -> None:
    paper = parse("hf_papers/takara_tldr_daily_papers_rss_2026-04-30_brevio-ai.xml").papers[0]
    assert paper.id == "2604.26238" and paper.url == "https://arxiv.org/abs/2604.26238"


@pytest.mark.parametrize(("body", "needle"), [
    (b"", "empty body"),
    (b"   \n", "empty body"),
    (b"<!DOCTYPE html><html><body>Service unavailable</body></html>", "HTML page"),
    (b"<html><head><title>404</title></head></html>", "HTML page"),
    (b"<!doctype html><meta charset=utf-8><title>Just a moment...</title>", "HTML page"),
    (b'<?xml version="1.0"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN">'
     b'<html xmlns="http://www.w3.org/1999/xhtml"><body>Error</body></html>', "HTML page"),
    (b"Just some text", "neither XML nor JSON"),
    (b'{"error": "rate limited"}', "not a feed"),
])
def test_not_a_feed_is_a_clear_error(body: bytes, needle: str) -> None:
    feed = parse_feed(body, source="x")
    assert feed.error and needle in feed.error and not feed.papers

"""fetch_feeds from local files into a real store (SQLite, and PostgreSQL when configured):
dedup and merge across feeds, replace announcements, unchanged re-runs, partial failures."""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from digest.app.fetch import FeedResult, fetch_feeds
from digest.feeds import FeedSpec, parse_feed_specs
from digest.store.feedstate import get_feed_state
from digest.store.papers import count_papers, get_papers
from tests.feed_files import FEEDS, feed_file

TRUNCATED = next((FEEDS / "arxiv_rss").glob("*TRUNCATED*"))
NOW = datetime(2026, 8, 1, 6, 0, tzinfo=UTC)
BOTH = ("2607.28568", "2607.28582", "2607.28618")  # in both captures of that day


def run(engine: Engine, *specs: FeedSpec, now: datetime = NOW) -> list[FeedResult]:
    return asyncio.run(fetch_feeds(engine, list(specs), now=now))


# Reference-only inputs (tests/feed_files.py): resolved per test, so a missing one skips
# only the tests that use it.
@pytest.fixture
def arxiv_api() -> Path:
    return feed_file("arxiv_api/api_cs.AI_LG_CL_max25_personal-news-feed.xml")


@pytest.fixture
def hf_json() -> Path:
    return feed_file("hf_papers/daily_papers_2026-07-31_personal-news-feed.min.json")


@pytest.fixture
def rss() -> Path:
    return feed_file("arxiv_rss/rss_cs_ai_2026-04-27_jmamath-distill.xml")


def test_arxiv_then_hf_is_one_paper_with_both_sources_and_signals(
        engine: Engine, arxiv_api: Path, hf_json: Path) -> None:
    arxiv, = run(engine, FeedSpec("arxiv-api", str(arxiv_api)))
    assert (arxiv.status, arxiv.new) == ("ok", 25)
    before = get_papers(engine, list(BOTH))
    hf, = run(engine, FeedSpec("hf", str(hf_json)), now=NOW + timedelta(hours=1))
    assert (hf.status, hf.new, hf.updated) == ("ok", 27, 3)
    assert count_papers(engine) == 25 + 30 - 3
    after = get_papers(engine, list(BOTH))
    for pid in BOTH:
        paper = after[pid]
        assert paper.sources == ("arxiv-api", "hf")
        assert paper.upvotes is not None
        assert paper.title == before[pid].title  # arXiv's text is kept
        assert paper.categories == before[pid].categories
        assert paper.first_seen == NOW  # seen again, not new again


def test_hf_first_then_arxiv_text_wins_and_signals_stay(
        engine: Engine, arxiv_api: Path, hf_json: Path) -> None:
    run(engine, FeedSpec("hf", str(hf_json)))
    run(engine, FeedSpec("arxiv-api", str(arxiv_api)), now=NOW + timedelta(hours=1))
    paper = get_papers(engine, [BOTH[0]])[BOTH[0]]
    assert paper.sources == ("hf", "arxiv-api") and paper.upvotes is not None
    assert paper.categories  # only arXiv knows them


def test_unchanged_feed_is_skipped_and_replace_updates_without_being_new(
        engine: Engine, tmp_path: Path, rss: Path) -> None:
    feed = tmp_path / "cs.AI.xml"
    shutil.copy(rss, feed)
    first, = run(engine, FeedSpec("cs.AI", str(feed)))
    assert (first.status, first.new) == ("ok", 3)
    again, = run(engine, FeedSpec("cs.AI", str(feed)), now=NOW + timedelta(hours=1))
    assert (again.status, again.unchanged, again.new) == ("not_modified", 3, 0)

    text = feed.read_text()
    revised = text.replace("Announce Type: new", "Announce Type: replace", 1).replace(
        "<arxiv:announce_type>new</arxiv:announce_type>",
        "<arxiv:announce_type>replace</arxiv:announce_type>", 1).replace(
        "Although language models", "Although large language models", 1)
    feed.write_text(revised)
    later = NOW + timedelta(days=1)
    third, = run(engine, FeedSpec("cs.AI", str(feed)), now=later)
    assert (third.status, third.new, third.updated, third.unchanged) == ("ok", 0, 1, 2)
    paper = get_papers(engine, ["2604.21935"])["2604.21935"]
    assert paper.announce_type == "new"  # first met as new work, and stays so
    assert paper.abstract.startswith("Although large language models")
    assert paper.first_seen == NOW


def test_one_bad_feed_does_not_stop_the_others(engine: Engine, tmp_path: Path,
                                               rss: Path) -> None:
    html = tmp_path / "oops.xml"
    html.write_bytes(b"<!DOCTYPE html><html><body>Rate limited</body></html>")
    specs = parse_feed_specs([str(tmp_path / "missing.xml"), f"page={html}",
                              f"rss={rss.as_uri()}", f"trunc=arxiv:{TRUNCATED}"])
    assert [s.kind for s in specs] == ["auto", "auto", "auto", "arxiv"]
    missing, page, rss, trunc = run(engine, *specs)
    assert missing.status == "error" and "cannot read" in (missing.error or "")
    assert page.status == "error" and "HTML page" in (page.error or "")
    assert (rss.status, rss.new) == ("ok", 3)  # file:// behaves like a path
    assert (trunc.status, trunc.new) == ("error", 87)  # recovered entries are kept
    assert "malformed" in (trunc.error or "")
    state = get_feed_state(engine, str(tmp_path / "missing.xml"))
    assert state and state.consecutive_failures == 1 and state.last_status == "error"
    # A truncated body is parsed again next time (it may be complete by then).
    retry, = run(engine, specs[3], now=NOW + timedelta(hours=1))
    assert retry.status == "error" and retry.unchanged == 87


def test_weekend_empty_feed_is_ok(engine: Engine) -> None:
    weekend = feed_file("arxiv_rss/rss_cs_cl_weekend_empty_2026-08-01_All-News-AI.xml")
    result, = run(engine, FeedSpec("cs.CL", str(weekend)))
    assert (result.status, result.entries, result.error) == ("ok", 0, None)


def test_duplicate_specs_are_fetched_once(engine: Engine, rss: Path) -> None:
    results = run(engine, FeedSpec("a", str(rss)), FeedSpec("b", str(rss)))
    assert len(results) == 1 and results[0].new == 3

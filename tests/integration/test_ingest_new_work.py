"""Only new work is new, and bounded work, from feed file to picks: arXiv replacements of
papers digest never stored as new are skipped (or, when included, marked "revised, vN"), a
paper already sent stays out whatever version comes next, the fetch report says what it
did, the byte/entry/pool limits hold and say so, and embeddings are stored as computed.
Text that reaches the email is checked in test_ingest_email.py."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine

from digest.app.fetch import FeedResult, Fetcher, IngestRules
from digest.app.rankers import Rankers, cached_embeddings, stored_model
from digest.editions import FIRST_EDITION_LOOKBACK
from digest.models import EditionInfo, Paper, Profile, Ranking, Subscriber, SubscriberInput
from digest.rank import default_embedder
from digest.store import ledger
from digest.store.embeddings import load_embeddings
from digest.store.papers import get_papers, upsert_papers
from digest.store.subscribers import upsert_subscriber
from tests.feed_files import FEEDS
from tests.unit.rank_fixtures import CountingEmbedder

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
CASES = Path(__file__).resolve().parents[1] / "fixtures" / "feeds" / "field_cases"
REPLACE_DAY = CASES / "02_arxiv_replace_old_paper.xml"
CS_AI = FEEDS / "fidelity" / "arxiv_rss_cs_ai_fidelity.xml"
API = FEEDS / "fidelity" / "arxiv_api_fidelity.xml"
MOLECULES = "message passing graph neural networks for molecular property prediction"
REASONING = "reasoning models, thinking traces, reasoning budgets"


def fetch(engine: Engine, *paths: Path, now: datetime = NOW, include: bool = False,
          max_entries: int | None = None, max_bytes: int = 2**20) -> list[FeedResult]:
    fetcher = Fetcher(engine, [], max_bytes=max_bytes,
                      rules=IngestRules(max_entries=max_entries, include_revisions=include))
    return fetcher.fetch(now=now, urls=[str(p) for p in paths])


def picks(engine: Engine, interests: str, *, include: bool = False, sub_id: int = 0,
          now: datetime = NOW) -> Ranking:
    rankers = Rankers(engine, default_embedder(), include_revisions=include)
    pool = rankers.pool(now - FIRST_EDITION_LOOKBACK)
    sub = Subscriber(id=sub_id, email="reader@example.org", profile=Profile(interests=interests))
    return rankers.rank(rankers.over(pool.papers, [sub]), sub, now=now)


def ids(ranking: Ranking) -> list[str]:
    return [p.paper.id for p in ranking.picks]


def test_field_case_02_only_the_new_paper_is_new(engine: Engine) -> None:
    result, = fetch(engine, REPLACE_DAY)
    assert (result.status, result.kept, result.new, result.revisions) == ("ok", 1, 1, 2)
    assert result.notes == ("2 arXiv replacements of papers never seen as new skipped "
                            "(DIGEST_INCLUDE_REVISIONS)",)
    assert set(get_papers(engine, ["2611.09010", "1905.07799", "1704.01234"])) == {"2611.09010"}
    # A reader of exactly this field gets the new paper, not the 2019 and 2017 revisions.
    assert ids(picks(engine, MOLECULES)) == ["2611.09010"]


def test_replacements_are_skipped_even_when_they_match_best(engine: Engine) -> None:
    cs_ai, api = fetch(engine, CS_AI, API)
    assert (cs_ai.kept, cs_ai.revisions, api.kept, api.revisions) == (3, 2, 1, 1)
    ranking = picks(engine, REASONING)
    # The replacements 2001.01234v3 and 1812.05678v2 are about reasoning traces too.
    assert ids(ranking) == ["2611.10001", "2611.10003"]
    assert not any(r.startswith("revised") for p in ranking.picks for r in p.reasons)


def test_included_revisions_are_ranked_and_marked(engine: Engine) -> None:
    result, = fetch(engine, REPLACE_DAY, include=True)
    assert (result.kept, result.new, result.revisions) == (3, 3, 0)
    ranking = picks(engine, MOLECULES, include=True)
    marks = {p.paper.id: p.reasons[0] for p in ranking.picks}
    assert marks["1905.07799"] == "revised, v4" and marks["1704.01234"] == "revised, v3"
    assert not marks["2611.09010"].startswith("revised")
    # Turned off again, the stored revisions leave the pool.
    assert ids(picks(engine, MOLECULES, include=False)) == ["2611.09010"]


def _replaced(tmp_path: Path, version: int) -> Path:
    """The replace-day feed a week later: the new paper of that day is now replaced."""
    text = REPLACE_DAY.read_text().replace(
        "arXiv:2611.09010v1 Announce Type: new", f"arXiv:2611.09010v{version} Announce Type: replace"
    ).replace("oai:arXiv.org:2611.09010v1", f"oai:arXiv.org:2611.09010v{version}").replace(
        "<arxiv:announce_type>new</arxiv:announce_type>",
        "<arxiv:announce_type>replace</arxiv:announce_type>", 1).replace(
        "ten million molecules", "twenty million molecules")
    path = tmp_path / f"replace_v{version}.xml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("include", [False, True])
def test_a_paper_sent_stays_out_whatever_version_comes(engine: Engine, tmp_path: Path,
                                                        include: bool) -> None:
    fetch(engine, REPLACE_DAY, include=include)
    edition = EditionInfo(key="weekly:2026-W49", frequency="weekly", period_start=NOW,
                          period_end=NOW + timedelta(days=7))
    edition_id = ledger.ensure_edition(engine, edition, now=NOW)
    sent_to, _ = upsert_subscriber(engine, SubscriberInput(email="sent@example.org",
                                                           interests=MOLECULES),
                                   now=NOW, status="active", origin="test")
    first = picks(engine, MOLECULES, include=include, sub_id=sent_to)
    assert "2611.09010" in ids(first)
    assert ledger.add_delivery(
        engine, edition_id=edition_id, subscriber_id=sent_to, now=NOW, quiet=False,
        picks=[{"id": p.paper.id, "score": p.score, "reasons": list(p.reasons)}
               for p in first.picks], state="sent")
    for version in (2, 3):
        later = NOW + timedelta(days=version)
        result, = fetch(engine, _replaced(tmp_path, version), now=later, include=include)
        # digest knows 2611.09010: refreshed, not skipped (the 2019/2017 ones still are).
        assert result.revisions == (0 if include else 2) and result.updated >= 1
        paper = get_papers(engine, ["2611.09010"])["2611.09010"]
        assert (paper.version, paper.announce_type, paper.first_seen) == (version, "new", NOW)
        assert "twenty million" in paper.abstract
        assert "2611.09010" not in ids(picks(engine, MOLECULES, include=include,
                                             sub_id=sent_to, now=later))
    # Someone who was not sent it still gets it, unmarked: it was new work when first seen.
    other = picks(engine, MOLECULES, include=include, sub_id=sent_to + 1,
                  now=NOW + timedelta(days=3))
    pick = next(p for p in other.picks if p.paper.id == "2611.09010")
    assert not pick.reasons[0].startswith("revised")


def test_limits_hold_and_are_reported(engine: Engine) -> None:
    result, = fetch(engine, CS_AI, max_entries=2)
    assert (result.status, result.kept, result.revisions) == ("ok", 2, 0)
    assert result.notes == ("entry limit: read the first 2 of 5 entries (DIGEST_FEED_MAX_ENTRIES)",)
    big, = fetch(engine, CS_AI, max_bytes=1024)
    assert big.status == "error"
    assert big.error == ("feed body is larger than 1,024 bytes; refused "
                         "(raise DIGEST_FEED_MAX_BYTES to accept it)")


def test_pool_is_capped_most_recent_first(engine: Engine) -> None:
    for day in range(5):
        upsert_papers(engine, [Paper(id=f"2611.0000{day}", title=f"Paper {day}")],
                      now=NOW - timedelta(days=day))
    rankers = Rankers(engine, None, pool_max=2)
    pool = rankers.pool(NOW - timedelta(days=30))
    assert [p.id for p in pool.papers] == ["2611.00000", "2611.00001"]
    assert (pool.total, pool.capped) == (5, True)
    full = Rankers(engine, None, pool_max=10).pool(NOW - timedelta(days=30))
    assert (len(full.papers), full.total, full.capped) == (5, 5, False)


class FailingEmbedder(CountingEmbedder):
    """Encodes ``calls`` batches, then fails like an interrupted run."""

    def __init__(self, calls: int) -> None:
        super().__init__()
        self.calls = calls

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if self.calls == 0:
            raise KeyboardInterrupt
        self.calls -= 1
        return super().embed(texts)


def test_embeddings_are_stored_as_computed(engine: Engine) -> None:
    papers = [Paper(id=f"2611.1000{i}", title=f"Paper {i}", abstract=f"text {i}") for i in range(5)]
    upsert_papers(engine, papers, now=NOW)
    with pytest.raises(KeyboardInterrupt):
        cached_embeddings(engine, papers, FailingEmbedder(calls=2), batch=2)
    kept = load_embeddings(engine, [p.id for p in papers], model=stored_model(CountingEmbedder()))
    assert len(kept) == 4  # two batches of two were written before the interruption
    again = CountingEmbedder()
    vectors = cached_embeddings(engine, papers, again, batch=2)
    assert len(vectors) == 5 and again.encoded == ["Paper 4. text 4", "Paper 4"]  # the missing one

"""The store on a real database (SQLite always, PostgreSQL when configured)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from digest.models import EditionInfo, Outcome, Paper, SubscriberInput
from digest.store import claims, ledger
from digest.store.db import current_revision, head_revision, open_store
from digest.store.papers import get_papers, papers_seen_since, upsert_papers
from digest.store.subscribers import get_subscriber, upsert_subscriber

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def test_migrations_reach_head_and_reopen_is_a_no_op(db_url: str) -> None:
    first = open_store(db_url)
    assert current_revision(first) == head_revision()
    first.dispose()
    again = open_store(db_url)
    assert current_revision(again) == head_revision()
    again.dispose()


def test_upsert_counts_and_merge_across_sources(engine: Engine) -> None:
    arxiv = Paper(id="2401.00001", title="A", abstract="x", categories=("cs.CL",),
                  sources=("arxiv",), pdf_url="https://arxiv.org/pdf/2401.00001")
    counts = upsert_papers(engine, [arxiv], now=NOW)
    assert (counts.new, counts.updated, counts.unchanged) == (1, 0, 0)
    assert upsert_papers(engine, [arxiv], now=NOW + timedelta(hours=1)).unchanged == 1
    hf = Paper(id="2401.00001", title="A", abstract="x", sources=("hf",), upvotes=42)
    assert upsert_papers(engine, [hf], now=NOW + timedelta(hours=2)).updated == 1
    stored = get_papers(engine, ["2401.00001"])["2401.00001"]
    assert stored.sources == ("arxiv", "hf")
    assert stored.upvotes == 42 and stored.categories == ("cs.CL",)
    assert stored.pdf_url == "https://arxiv.org/pdf/2401.00001"
    assert stored.first_seen == NOW  # a re-sighting does not make it new again
    assert [p.id for p in papers_seen_since(engine, NOW)] == ["2401.00001"]
    assert papers_seen_since(engine, NOW + timedelta(seconds=1)) == []


def test_ledger_one_row_per_edition_and_subscriber(engine: Engine) -> None:
    sid, created = upsert_subscriber(engine, SubscriberInput(email="a@example.org", interests="x"),
                                     now=NOW, status="active", origin="cli")
    assert created and get_subscriber(engine, email="a@example.org").id == sid
    info = EditionInfo("weekly:2026-W48", "weekly", NOW, NOW + timedelta(days=7))
    eid = ledger.ensure_edition(engine, info, now=NOW)
    assert ledger.ensure_edition(engine, info, now=NOW) == eid
    picks = [{"id": "p1", "score": 1.0, "reasons": []}]
    assert ledger.add_delivery(engine, edition_id=eid, subscriber_id=sid, picks=picks,
                               quiet=False, now=NOW)
    assert not ledger.add_delivery(engine, edition_id=eid, subscriber_id=sid, picks=picks,
                                   quiet=False, now=NOW)
    assert ledger.sent_paper_ids(engine, sid) == {"p1"}



def test_planned_among_reads_a_whole_pass_in_one_query_past_the_parameter_limit(
        engine: Engine) -> None:
    # 70,000 pairs: an IN list of them would pass PostgreSQL's 65,535 bind parameters.
    sid, _ = upsert_subscriber(engine, SubscriberInput(email="a@example.org", interests="x"),
                               now=NOW, status="active", origin="cli")
    info = EditionInfo("weekly:2026-W48", "weekly", NOW, NOW + timedelta(days=7))
    eid = ledger.ensure_edition(engine, info, now=NOW)
    other = ledger.ensure_edition(engine, EditionInfo("weekly:2026-W49", "weekly",
                                                      NOW + timedelta(days=7),
                                                      NOW + timedelta(days=14)), now=NOW)
    assert ledger.add_delivery(engine, edition_id=eid, subscriber_id=sid, picks=[],
                               quiet=False, now=NOW, state="skipped")
    asked = {(eid, sid), (other, sid)} | {(eid, n) for n in range(10**6, 10**6 + 70_000)}
    assert ledger.planned_among(engine, asked) == {(eid, sid)}
    assert ledger.planned_among(engine, set()) == set()

def test_ledger_statistics_are_refreshed_when_they_lag_its_rows(engine: Engine) -> None:
    # PostgreSQL plans the ledger's reads from its statistics: refreshed (ANALYZE) once the
    # rows outgrow them, left alone once they are current; SQLite's planner needs none.
    from sqlalchemy import insert, select

    from digest.store.schema import subscribers

    with engine.begin() as conn:
        conn.execute(insert(subscribers), [
            {"email": f"r{i}@example.org", "name": "", "interests": "x", "keywords": [],
             "categories": [], "authors": [], "seed_papers": [], "popularity_weight": 1.0,
             "status": "active", "frequency": "weekly", "weekday": 0, "hour": 8,
             "timezone": "UTC", "papers_per_email": 10, "quiet_week": "send",
             "origin": "import", "created_at": NOW, "confirmed_at": NOW, "hard_bounces": 0}
            for i in range(1200)])
        ids = list(conn.execute(select(subscribers.c.id)).scalars())
    assert not ledger.refresh_statistics(engine)  # an empty ledger: nothing to know
    eid = ledger.ensure_edition(engine, EditionInfo("weekly:2026-W48", "weekly", NOW,
                                                    NOW + timedelta(days=7)), now=NOW)
    assert all(ledger.add_deliveries(engine, [
        ledger.NewDelivery(edition_id=eid, subscriber_id=i, picks=[], quiet=False)
        for i in ids], now=NOW))
    postgres = engine.dialect.name == "postgresql"
    assert ledger.refresh_statistics(engine, written=1200) is postgres  # never analyzed
    assert not ledger.refresh_statistics(engine, written=1200)  # current now


def sent(delivery_id: int) -> Outcome:
    return Outcome(delivery_id, "sent", message_id="<m>", reply="250", transport="smtp")


def test_claims_are_exclusive_and_expired_leases_come_back(engine: Engine) -> None:
    info = EditionInfo("weekly:2026-W48", "weekly", NOW, NOW + timedelta(days=7))
    eid = ledger.ensure_edition(engine, info, now=NOW)
    for i in range(3):
        sid, _ = upsert_subscriber(engine, SubscriberInput(email=f"s{i}@example.org",
                                                           interests="x"),
                                   now=NOW, status="active", origin="cli")
        ledger.add_delivery(engine, edition_id=eid, subscriber_id=sid, picks=[], quiet=False,
                            now=NOW)
    first = claims.claim_batch(engine, owner="w1", now=NOW, limit=2)
    second = claims.claim_batch(engine, owner="w2", now=NOW, limit=5)
    assert len(first) == 2 and len(second) == 1
    assert not {c.id for c in first} & {c.id for c in second}
    assert claims.claim_batch(engine, owner="w3", now=NOW, limit=5) == []
    assert claims.record_outcomes(engine, [sent(first[0].id)], owner="w1", now=NOW) == 1
    # w1 dies holding first[1]; after the lease expires another worker takes it over.
    later = NOW + timedelta(minutes=11)
    retaken = claims.claim_batch(engine, owner="w3", now=later, limit=5)
    assert {c.id for c in retaken} == {first[1].id, second[0].id}
    # w1's lease is gone: its late outcome is not written
    assert claims.record_outcomes(engine, [sent(first[1].id)], owner="w1", now=later) == 0
    assert ledger.counts_by_state(engine) == {"sent": 1, "sending": 2}

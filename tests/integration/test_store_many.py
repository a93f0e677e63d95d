"""Reads over every subscriber hold at any size: PostgreSQL takes at most 65,535 bound
parameters a statement (its wire protocol's Int16 count; psycopg: "number of parameters
must be between 0 and 65535"), so a read that binds one parameter per subscriber broke
planning at the 65,536th reader (found by bench/edition.py at 100,000)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select

from digest.store.schema import feedback, subscribers
from digest.store.subscribers import list_subscribers

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
READERS = 70_000


def test_listing_more_subscribers_than_a_statement_can_bind(engine: Engine) -> None:
    rows = [{"email": f"r{i}@example.org", "name": "", "interests": "testing", "keywords": [],
             "categories": [], "authors": [], "seed_papers": [], "popularity_weight": 1.0,
             "status": "active", "frequency": "weekly", "weekday": 0, "hour": 8,
             "timezone": "UTC", "papers_per_email": 10, "quiet_week": "send",
             "origin": "import", "created_at": NOW, "confirmed_at": NOW, "hard_bounces": 0}
            for i in range(READERS)]
    with engine.begin() as conn:
        conn.execute(insert(subscribers), rows)
        last = conn.execute(select(subscribers.c.id).order_by(subscribers.c.id.desc())).scalar()
        conn.execute(insert(feedback), [
            {"subscriber_id": last, "paper_id": "2611.00001", "signal": 1, "created_at": NOW}])
    found = list_subscribers(engine, status="active")
    assert len(found) == READERS
    assert found[-1].profile.liked == ("2611.00001",)
    assert found[0].profile.liked == ()

"""Links never outlive or cross their subscriber (issue 14), on SQLite and PostgreSQL.

The attack from the issue: the newest subscriber deletes their data, someone else signs up
(on SQLite, without AUTOINCREMENT, they get the same integer id), and every link the first
one was ever mailed is tried. Each must answer 410 "this subscription no longer exists"
and change nothing: no row, no outbox mail.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, MetaData, select

from digest.models import Subscriber
from digest.profiles import validate_profile
from digest.runtime import Runtime
from digest.store.subscribers import delete_subscriber, get_subscriber, upsert_subscriber
from digest.tokens import make_token
from tests.web_support import SECRET

GONE = "this subscription no longer exists"
NOW = datetime.now(UTC) - timedelta(hours=1)


def join(rt: Runtime, email: str, *, status: str = "active",
         now: datetime = NOW) -> Subscriber:
    data = validate_profile({"email": email, "interests": "graph neural networks"})
    sid, _ = upsert_subscriber(rt.engine, data, now=now, status=status, origin="cli")
    sub = get_subscriber(rt.engine, subscriber_id=sid)
    assert sub is not None and sub.public_id
    return sub


def snapshot(rt: Runtime) -> tuple[str, list[str]]:
    """Every row of every table, and the outbox: what a refused link must leave alone (the
    inbound log, which records that a mail was ignored, and the rate limits aside)."""
    meta = MetaData()
    meta.reflect(rt.engine)
    with rt.engine.connect() as conn:
        rows = repr([conn.execute(select(t)).all() for t in meta.sorted_tables
                     if t.name not in ("rate_limits", "inbound_events")])
    out = rt.settings.outbox_dir
    return rows, sorted(p.name for p in out.glob("*.eml")) if out.is_dir() else []


def _replace_newest(rt: Runtime, old: Subscriber, engine: Engine) -> Subscriber:
    """The issue's sequence: the newest subscriber deletes their data, a stranger signs up."""
    assert delete_subscriber(engine, old.id, now=NOW) == old.email
    stranger = join(rt, "stranger@example.net", status="pending",
                    now=datetime.now(UTC))
    if engine.dialect.name == "sqlite":
        assert stranger.id == old.id  # the reuse this guards against really happens here
    return stranger


# (purpose, method, path template, extra payload): every page a mailed link opens.
KINDS = [
    ("confirm", "GET", "/confirm/{t}", {"n": NOW.isoformat()}),
    ("confirm", "POST", "/confirm/{t}", {"n": NOW.isoformat()}),
    ("preferences", "GET", "/preferences/{t}", {}),
    ("preferences", "POST", "/preferences/{t}", {}),
    ("unsubscribe", "GET", "/unsubscribe/{t}", {}),
    ("unsubscribe", "POST", "/unsubscribe/{t}", {}),
    ("feedback", "GET", "/feedback/{t}", {"paper": "2401.00001", "signal": "more"}),
    ("feedback", "POST", "/feedback/{t}", {"paper": "2401.00001", "signal": "less"}),
    ("preferences", "POST", "/preferences/{t}/export", {}),
    ("preferences", "POST", "/preferences/{t}/delete", {}),
    ("delete", "GET", "/delete/{t}", {}),
    ("delete", "POST", "/delete/{t}", {}),
    ("resubscribe", "GET", "/resubscribe/{t}", {"at": NOW.isoformat()}),
    ("resubscribe", "POST", "/resubscribe/{t}", {"at": NOW.isoformat()}),
    ("preferences", "POST", "/preferences/{t}/check", {}),
    ("preferences", "POST", "/preferences/{t}/feed", {}),
    ("view", "GET", "/view/{t}", {"e": "weekly:2026-W48"}),
    ("feed", "GET", "/feed/{t}", {"k": "a-feed-key"}),
]


@pytest.mark.parametrize(("purpose", "method", "path", "extra"), KINDS,
                         ids=[f"{m} {p}" for _, m, p, _ in KINDS])
def test_a_deleted_subscribers_link_is_gone_for_whoever_has_their_id(
        rt: Runtime, web: TestClient, purpose: str, method: str, path: str,
        extra: dict[str, str]) -> None:
    join(rt, "first@example.org")
    old = join(rt, "newest@example.org")
    links = rt.subscriptions.links
    url = links.url(purpose, old.id, old.public_id, **extra)
    token = url.rsplit("/", 1)[1]
    stranger = _replace_newest(rt, old, rt.engine)
    before = snapshot(rt)

    form = {"interests": "taken over", "frequency": "daily"} if method == "POST" else None
    answer = web.request(method, path.format(t=token), data=form)

    assert answer.status_code == 410, answer.text
    assert GONE in answer.text
    assert snapshot(rt) == before
    now = get_subscriber(rt.engine, subscriber_id=stranger.id)
    assert now is not None and now.status == "pending" and now.email == stranger.email


def test_inbound_unsubscribe_for_a_deleted_subscriber_acts_on_nobody(rt: Runtime) -> None:
    old = join(rt, "newest@example.org")
    mailto = rt.subscriptions.links.for_digest(old.id, old.public_id).list_unsubscribe_mailto
    stranger = _replace_newest(rt, old, rt.engine)
    active = join(rt, stranger.email, status="active")  # confirmed: the one to protect
    before = snapshot(rt)
    from urllib.parse import unquote

    subject = unquote(mailto.split("subject=", 1)[1])
    raw = (f"From: someone@example.com\r\nTo: digest@localhost\r\nSubject: {subject}\r\n\r\n"
           ).encode()
    done = asyncio.run(rt.inbound.handle(raw, now=datetime.now(UTC)))
    assert done.kind == "ignored" and GONE in done.detail
    assert snapshot(rt) == before
    after = get_subscriber(rt.engine, subscriber_id=active.id)
    assert after is not None and after.status == "active"


def test_a_legacy_link_works_for_its_own_subscriber_only(rt: Runtime,
                                                         web: TestClient) -> None:
    # Links mailed before migration 0011_trust carry the integer id alone.
    old = join(rt, "newest@example.org")
    legacy = make_token(SECRET, "preferences", old.id)
    assert web.get(f"/preferences/{legacy}").status_code == 200  # issued after they joined

    issued = int(time.time()) - 5
    stale = make_token(SECRET, "preferences", old.id, issued_at=issued)
    time.sleep(1)  # the stranger's row is created after both links were signed
    stranger = _replace_newest(rt, old, rt.engine)
    before = snapshot(rt)
    for token in (legacy, stale):
        answer = web.post(f"/preferences/{token}", data={"interests": "taken over"})
        assert answer.status_code == 410 and GONE in answer.text
    assert snapshot(rt) == before
    assert get_subscriber(rt.engine, subscriber_id=stranger.id) is not None


def test_migration_0011_backfills_a_distinct_public_id_and_keeps_every_row(
        engine: Engine) -> None:
    from alembic import command
    from sqlalchemy import text

    from digest.store.db import _alembic_config, upgrade
    from digest.store.schema import feedback, subscribers

    with engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0010_delivery_truth")
    old = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:  # rows as 0010 had them: no public id
        for email in ("a@example.org", "b@example.org"):
            conn.execute(text(
                "INSERT INTO subscribers (email, name, interests, keywords, categories, "
                "authors, seed_papers, popularity_weight, status, frequency, weekday, hour, "
                "timezone, papers_per_email, quiet_week, origin, created_at, hard_bounces) "
                "VALUES (:e, '', 'x', '[]', '[]', '[]', '[]', 1, 'active', 'weekly', 0, 8, "
                "'UTC', 10, 'send', 'cli', :t, 0)"), {"e": email, "t": old})
        first = conn.execute(text("SELECT min(id) FROM subscribers")).scalar_one()
        conn.execute(feedback.insert().values(subscriber_id=first, paper_id="2401.00001",
                                              signal=1, created_at=old))
    upgrade(engine)
    with engine.connect() as conn:
        ids = [r[0] for r in conn.execute(select(subscribers.c.public_id))]
        kept = conn.execute(select(feedback.c.paper_id)).scalars().all()
    assert len(ids) == 2 and all(ids) and len(set(ids)) == 2
    assert kept == ["2401.00001"]  # no table copy cascaded the feedback away
    with engine.begin() as conn:  # and back down, rows intact
        command.downgrade(_alembic_config(conn), "0010_delivery_truth")
        assert conn.execute(text("SELECT count(*) FROM subscribers")).scalar_one() == 2
    upgrade(engine)

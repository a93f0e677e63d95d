"""Data rights and the subscription lifecycle on both backends: deletion leaves only a
hash that nothing can revive, export is emailed, feedback reaches the profile, notices
respect suppression, rate-limit windows count and reset."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, MetaData, select

from digest.addresses import address_hash
from digest.errors import SuppressedError
from digest.models import EditionInfo
from digest.profiles import validate_profile
from digest.render import RenderedEmail
from digest.runtime import Runtime
from digest.store import ledger
from digest.store.rate_limits import hit
from digest.store.schema import suppressions
from digest.store.subscribers import get_subscriber, suppress_address, upsert_subscriber
from digest.tokens import make_token
from tests.web_support import SECRET, body_text, find_link, form_token

EMAIL = "owner@example.org"
NOW = datetime.now(UTC) - timedelta(hours=1)


def outbox(rt: Runtime) -> list[EmailMessage]:
    files = sorted(rt.settings.outbox_dir.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
    return [message_from_bytes(p.read_bytes(), policy=policy.default) for p in files]  # type: ignore[misc]


def member(rt: Runtime, email: str = EMAIL) -> int:
    data = validate_profile({"email": email, "interests": "graph neural networks"})
    sid, _ = upsert_subscriber(rt.engine, data, now=NOW, status="active", origin="cli")
    return sid


def dump(engine: Engine) -> str:
    """Every row of every table, as text: to prove an address is gone everywhere."""
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        return repr([conn.execute(select(t)).all() for t in meta.sorted_tables])


def test_deletion_leaves_only_a_hash_that_nothing_revives(rt: Runtime, web: TestClient,
                                                          tmp_path: Path) -> None:
    sid = member(rt)
    edition = ledger.ensure_edition(rt.engine, EditionInfo(
        key="weekly:2026-W48", frequency="weekly", period_start=NOW,
        period_end=NOW + timedelta(days=7)), now=NOW)
    ledger.add_delivery(rt.engine, edition_id=edition, subscriber_id=sid,
                        picks=[{"id": "2401.00001", "score": 1.0, "reasons": []}], quiet=False,
                        now=NOW)
    feedback = make_token(SECRET, "feedback", sid, paper="2401.00001", signal="more")
    assert web.post(f"/feedback/{feedback}").status_code == 200
    preferences = f"/preferences/{make_token(SECRET, 'preferences', sid)}"
    unsubscribe = f"/unsubscribe/{make_token(SECRET, 'unsubscribe', sid)}"

    asked = web.post(f"{preferences}/delete")
    assert asked.status_code == 200
    [mail] = outbox(rt)
    assert mail["To"].addresses[0].addr_spec == EMAIL
    delete_url = find_link(mail, "delete")
    assert web.get(delete_url).status_code == 200  # a page with a button; nothing deleted
    assert get_subscriber(rt.engine, subscriber_id=sid) is not None
    done = web.post(delete_url)
    assert done.status_code == 200 and "deleted" in done.text

    assert get_subscriber(rt.engine, email=EMAIL) is None
    everything = dump(rt.engine)
    assert EMAIL not in everything and "graph neural networks" not in everything
    assert "2401.00001" not in everything.replace("papers", "")  # no feedback, no ledger row
    with rt.engine.connect() as conn:
        assert conn.execute(select(suppressions.c.reason).where(
            suppressions.c.address_hash == address_hash(EMAIL))).scalar() == "deleted"

    # Replays and the old links are dead.
    for url in (delete_url, preferences, unsubscribe, f"/feedback/{feedback}"):
        assert web.post(url).status_code == 410, url
    # Nothing brings the address back: the form, the store, a profile file, an import.
    assert subscribe_page_answer(web, EMAIL) == 200
    assert get_subscriber(rt.engine, email=EMAIL) is None
    assert len(outbox(rt)) == 1  # no confirmation went out
    with pytest.raises(SuppressedError):
        upsert_subscriber(rt.engine, validate_profile({"email": EMAIL, "interests": "x"}),
                          now=NOW, status="active", origin="cli")
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "owner.toml").write_text(f'email = "{EMAIL}"\ninterests = "x"\n')
    synced = rt.subscribers.sync(profiles, now=NOW)
    assert synced.created == [] and len(synced.errors) == 1
    report = rt.subscribers.import_rows([(2, {"email": EMAIL.upper(), "interests": "x"})],
                                        now=NOW)
    assert report.created == [] and report.bad[0][0] == 2
    assert get_subscriber(rt.engine, email=EMAIL) is None


def subscribe_page_answer(web: TestClient, email: str) -> int:
    token = form_token(web.get("/").text)
    return web.post("/subscribe", data={"email": email, "interests": "x",
                                        "form_token": token}).status_code


def test_export_is_emailed_to_the_subscriber(rt: Runtime, web: TestClient) -> None:
    sid = member(rt)
    for signal in ("more", "less"):
        token = make_token(SECRET, "feedback", sid, paper=f"2401.0000{len(signal)}", signal=signal)
        assert web.post(f"/feedback/{token}").status_code == 200
    preferences = f"/preferences/{make_token(SECRET, 'preferences', sid)}"
    answer = web.post(f"{preferences}/export")
    assert answer.status_code == 200 and EMAIL in answer.text
    [mail] = outbox(rt)
    assert mail["To"].addresses[0].addr_spec == EMAIL
    [attachment] = list(mail.iter_attachments())
    data = json.loads(attachment.get_content())
    assert data["subscriber"]["email"] == EMAIL
    assert data["subscriber"]["interests"] == "graph neural networks"
    # "more" then "less" on one paper: what is kept (and sent) is the latest, "less"
    assert [(f["paper"], f["signal"]) for f in data["feedback"]] == [("2401.00004", "less")]
    # A forwarded link cannot turn into an inbox flood: one export per window.
    assert web.post(f"{preferences}/export").status_code == 429
    assert len(outbox(rt)) == 1


def test_feedback_reaches_the_profile_only_on_post(rt: Runtime, web: TestClient) -> None:
    sid = member(rt)
    more = f"/feedback/{make_token(SECRET, 'feedback', sid, paper='2401.00001', signal='more')}"
    less = f"/feedback/{make_token(SECRET, 'feedback', sid, paper='2401.00001', signal='less')}"
    assert web.get(more).status_code == 200  # a link scanner's GET records nothing
    assert get_subscriber(rt.engine, subscriber_id=sid).profile.liked == ()
    assert web.post(more).status_code == 200
    assert get_subscriber(rt.engine, subscriber_id=sid).profile.liked == ("2401.00001",)
    assert web.post(less).status_code == 200  # the latest signal wins
    profile = get_subscriber(rt.engine, subscriber_id=sid).profile
    assert (profile.liked, profile.disliked) == ((), ("2401.00001",))


def test_resubscribe_after_unsubscribe_needs_a_new_confirmation(rt: Runtime,
                                                                web: TestClient) -> None:
    sid = member(rt)
    unsubscribe = f"/unsubscribe/{make_token(SECRET, 'unsubscribe', sid)}"
    assert web.get(unsubscribe).status_code == 200
    assert get_subscriber(rt.engine, subscriber_id=sid).status == "active"
    assert web.post(unsubscribe).status_code == 200
    [goodbye] = outbox(rt)
    assert "unsubscribed" in goodbye["Subject"]
    data = validate_profile({"email": EMAIL, "interests": "topology"})
    result = asyncio.run(rt.subscriptions.subscribe(data, now=datetime.now(UTC)))
    assert (result.reason, result.confirmation_sent) == ("resubscribe", True)
    assert get_subscriber(rt.engine, subscriber_id=sid).status == "unsubscribed"
    confirm = find_link(outbox(rt)[1], "confirm")
    assert web.post(confirm).status_code == 200
    sub = get_subscriber(rt.engine, subscriber_id=sid)
    assert (sub.status, sub.profile.interests) == ("active", "topology")


def test_bounced_and_suppressed_addresses_get_no_mail(rt: Runtime) -> None:
    member(rt, "bounced@example.org")
    suppress_address(rt.engine, address_hash("bounced@example.org"), reason="hard bounce", now=NOW)
    for email in ("bounced@example.org",):
        data = validate_profile({"email": email, "interests": "x"})
        assert asyncio.run(rt.subscriptions.subscribe(data, now=NOW)).confirmation_sent is False
    sent = asyncio.run(rt.notifier.send("welcome", to="bounced@example.org", name="",
                                        action_url="http://x/"))
    assert sent is False and outbox(rt) == []


class _Renderer:
    """A renderer whose subject tries a header injection."""

    def render_notice(self, kind: str, *, email: str, name: str, action_url: str,
                      extra: object = None) -> RenderedEmail:
        return RenderedEmail(subject=f"{kind} for {name}\r\nBcc: x@example.org",
                             html=f"<p><a href='{action_url}'>go</a></p>",
                             text=f"go: {action_url}\n", preheader="")


def test_every_notice_renders_from_its_template_and_headers_stay_one_line(rt: Runtime) -> None:
    for kind in ("confirm", "welcome", "goodbye", "export", "delete"):
        asyncio.run(rt.notifier.send(kind, to=EMAIL, name="Ann", action_url="http://x/a/t"))
    notices = outbox(rt)
    assert len(notices) == 5
    for notice in notices:
        assert notice.get_content_type() == "multipart/alternative", notice["Subject"]
        assert "http://x/a/t" in body_text(notice)
        assert notice["Auto-Submitted"] == "auto-generated"
    hostile = replace(rt.notifier, renderer=_Renderer())
    asyncio.run(hostile.send("welcome", to=EMAIL, name="Ann", action_url="http://x/p/t"))
    rendered = outbox(rt)[-1]
    assert rendered.get_content_type() == "multipart/alternative"
    assert rendered["Subject"] == "welcome for Ann Bcc: x@example.org"  # folded onto one line
    assert rendered["Bcc"] is None


def test_rate_limit_windows(engine: Engine) -> None:
    t0 = NOW
    assert [hit(engine, "ip:a", limit=2, window=60, now=t0) for _ in range(2)] == [0, 0]
    wait = hit(engine, "ip:a", limit=2, window=60, now=t0 + timedelta(seconds=10))
    assert 0 < wait <= 51
    assert hit(engine, "ip:b", limit=2, window=60, now=t0) == 0  # keys are independent
    assert hit(engine, "ip:a", limit=2, window=60, now=t0 + timedelta(seconds=61)) == 0


def test_one_mailbox_in_any_letter_case_is_one_subscriber(rt: Runtime, web: TestClient) -> None:
    # Every provider delivers "Victim@", "VICTIM@" and "victim@" to one mailbox (RFC 5321
    # 2.4 lets the local part be case-sensitive; none of the big ones is). An attacker who
    # types 100 case variants must not get 100 confirmation mails into it (an attacker's
    # report: 100 mails in 10 s, and two digests a week once one variant was confirmed).
    for variant in ("victim@example.org", "Victim@example.org", "VICTIM@Example.org",
                    "vIctim@example.org"):
        assert subscribe_page_answer(web, variant) == 200
    assert len(outbox(rt)) == 1
    rows = [s for s in rt.subscribers.all() if s.email.lower() == "victim@example.org"]
    assert [s.email for s in rows] == ["victim@example.org"]
    assert get_subscriber(rt.engine, email="VICTIM@example.org") is not None
    data = validate_profile({"email": "Victim@example.org", "interests": "robots"})
    sid, created = upsert_subscriber(rt.engine, data, now=NOW, status="active", origin="cli")
    assert not created and sid == rows[0].id

"""Hostile input changes nothing and gets a clear 4xx page: invalid addresses, over-long
fields, CR/LF, bad tokens, the honeypot, cross-site posts, floods."""

from __future__ import annotations

import html
import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from digest.profiles import validate_profile
from digest.runtime import Runtime
from digest.store.schema import deliveries, feedback, subscribers, suppressions
from digest.store.subscribers import get_subscriber, upsert_subscriber
from digest.tokens import make_token
from digest.web import create_app
from tests.web_support import SECRET, form_token, make_runtime

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "email_validation"


@pytest.fixture
def rt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    runtime = make_runtime(tmp_path, monkeypatch, DIGEST_WEB__IP_LIMIT="100000")
    yield runtime
    runtime.close()


@pytest.fixture
def web(rt: Runtime) -> TestClient:
    return TestClient(create_app(rt), base_url="http://127.0.0.1:8000")


def snapshot(rt: Runtime) -> tuple[Any, ...]:
    """Everything a request could change, except the rate-limit counters."""
    with rt.engine.connect() as conn:
        tables = tuple(tuple(map(tuple, conn.execute(select(t)).all()))
                       for t in (subscribers, feedback, suppressions, deliveries))
    outbox = rt.settings.outbox_dir
    return tables, sorted(p.name for p in outbox.glob("*.eml")) if outbox.exists() else []


def subscribe(web: TestClient, **fields: str) -> Any:
    data = {"email": "someone@example.org", "interests": "graph neural networks",
            "frequency": "weekly", "form_token": form_token(web.get("/").text), **fields}
    return web.post("/subscribe", data=data)


def active(rt: Runtime, web: TestClient, email: str = "member@example.org") -> int:
    """A confirmed subscriber, made through the front door."""
    assert subscribe(web, email=email).status_code == 200
    sub = get_subscriber(rt.engine, email=email)
    confirm = make_token(SECRET, "confirm", sub.id, n=datetime.now(UTC).isoformat())
    assert web.post(f"/confirm/{confirm}").status_code == 200
    return sub.id


def invalid_addresses() -> list[str]:
    cases = json.loads((FIXTURES / "python-email-validator_cases.json").read_text())
    out = [c["input"] for name in ("test_email_invalid_syntax", "test_email_invalid_reserved_domain",
                                   "test_email_unsafe_character")
           for c in cases[name]["cases"]]
    for test in ET.parse(FIXTURES / "isemail_tests.xml").getroot().iter("test"):
        if test.findtext("category") == "ISEMAIL_ERR":
            raw = test.findtext("address") or ""
            # isemail writes control characters as U+2400 + code; map them back
            out.append("".join(chr(ord(c) - 0x2400) if 0x2400 <= ord(c) < 0x2420 else c
                               for c in raw))
    # A lone surrogate cannot be sent as UTF-8 by any client: leave that one case out.
    return [a for a in out if a.encode("utf-8", "surrogatepass") == a.encode("utf-8", "replace")]


def test_invalid_addresses_from_the_corpora_are_refused(rt: Runtime, web: TestClient) -> None:
    addresses = invalid_addresses()
    assert len(addresses) > 140
    before = snapshot(rt)
    token = form_token(web.get("/").text)
    accepted = []
    for address in addresses:
        answer = web.post("/subscribe", data={"email": address, "interests": "x",
                                              "form_token": token})
        if answer.status_code != 400 or 'id="error"' not in answer.text:
            accepted.append((address, answer.status_code))
    assert accepted == []
    assert snapshot(rt) == before


def test_valid_international_addresses_are_normalized(rt: Runtime, web: TestClient) -> None:
    assert subscribe(web, email="jeff@臺網中心.TW").status_code == 200
    assert get_subscriber(rt.engine, email="jeff@臺網中心.tw") is not None
    assert subscribe(web, email="Ünïcode@Example.ORG").status_code == 200
    assert get_subscriber(rt.engine, email="Ünïcode@example.org") is not None


@pytest.mark.parametrize("field,value", [
    ("email", "a" * 310 + "@example.org"),
    ("email", "x@" + "a" * 64 + ".org"),  # a DNS label longer than 63
    ("email", "a" * 65 + "@example.org"),  # a local part longer than 64
    ("interests", "graph " * 401),
    ("frequency", "weekly" * 3),
    ("frequency", "hourly"),
    ("interests", ""),
    ("email", ""),
])
def test_overlong_and_bad_fields(rt: Runtime, web: TestClient, field: str, value: str) -> None:
    before = snapshot(rt)
    answer = subscribe(web, **{field: value})
    assert answer.status_code == 400 and 'id="error"' in answer.text
    assert snapshot(rt) == before


@pytest.mark.parametrize("field", ["email", "interests", "frequency"])
@pytest.mark.parametrize("breaker", ["\r\n", "\n", "\r", "\rBcc: victim@example.org"])
def test_line_breaks_in_subscribe_fields(rt: Runtime, web: TestClient, field: str,
                                         breaker: str) -> None:
    before = snapshot(rt)
    value = {"email": "someone@example.org", "interests": "graphs",
             "frequency": "weekly"}[field] + breaker
    answer = subscribe(web, **{field: value})
    assert answer.status_code == 400, (field, breaker)
    assert snapshot(rt) == before


PREFERENCES = {"interests": "graphs", "seed_papers": "", "frequency": "weekly",
               "weekday": "monday", "hour": "8", "timezone": "UTC", "papers_per_email": "5",
               "quiet_week": "send"}


@pytest.mark.parametrize("field", [f for f in PREFERENCES if f != "seed_papers"])
def test_line_breaks_in_preference_fields(rt: Runtime, web: TestClient, field: str) -> None:
    """Seed papers is the one multi-line field (one paper per line); every other field
    refuses CR/LF."""
    sid = active(rt, web)
    url = f"/preferences/{make_token(SECRET, 'preferences', sid)}"
    before = snapshot(rt)
    answer = web.post(url, data={**PREFERENCES, field: PREFERENCES[field] + "\r\nX: y"})
    assert answer.status_code == 400 and 'id="error"' in answer.text
    assert snapshot(rt) == before


@pytest.mark.parametrize("field,value", [
    ("interests", "x" * 2001), ("hour", "24"), ("hour", "-1"), ("papers_per_email", "0"),
    ("papers_per_email", "51"), ("timezone", "Mars/Olympus"), ("frequency", "hourly"),
    ("weekday", "someday"), ("quiet_week", "maybe"), ("seed_papers", "x\n" * 51),
    ("seed_papers", "y" * 301), ("interests", "  "), ("seed_papers", "ok\x00"),
    # digits str.isdigit() accepts and int() refuses (a 500 in an attacker's report), and
    # other scripts' digits that int() would read: a form field takes ASCII digits only
    ("hour", "\u00b2"), ("papers_per_email", "\u00b2"), ("hour", "\u0663"),
    ("interests", "???"),
])
def test_bad_preferences(rt: Runtime, web: TestClient, field: str, value: str) -> None:
    sid = active(rt, web)
    url = f"/preferences/{make_token(SECRET, 'preferences', sid)}"
    before = snapshot(rt)
    answer = web.post(url, data={**PREFERENCES, field: value})
    assert answer.status_code == 400 and 'id="error"' in answer.text
    assert snapshot(rt) == before


def test_a_time_zone_typo_gets_the_closest_name_and_a_legacy_one_is_stored_canonical(
        rt: Runtime, web: TestClient) -> None:
    # Issue 18: the preferences form checks the zone against the list profile files use.
    sid = active(rt, web)
    url = f"/preferences/{make_token(SECRET, 'preferences', sid)}"
    before = snapshot(rt)
    answer = web.post(url, data={**PREFERENCES, "timezone": "America/New_Yrok"})
    assert answer.status_code == 400
    assert "did you mean 'America/New_York'?" in html.unescape(answer.text)
    assert snapshot(rt) == before
    assert web.post(url, data={**PREFERENCES, "timezone": "US/Eastern"}).status_code == 200
    assert get_subscriber(rt.engine, email="member@example.org").timezone == "America/New_York"


def test_honeypot_and_form_token(rt: Runtime, web: TestClient) -> None:
    before = snapshot(rt)
    assert subscribe(web, website="http://spam.example").status_code == 400
    assert subscribe(web, form_token="").status_code == 400
    assert subscribe(web, form_token="forged.token.value").status_code == 400
    stale = make_token(SECRET, "form", 0, issued_at=int(time.time()) - 3 * 86400)
    assert subscribe(web, form_token=stale).status_code == 400
    other = make_token(SECRET, "unsubscribe", 0)  # a real token, for another purpose
    assert subscribe(web, form_token=other).status_code == 400
    assert snapshot(rt) == before


def test_cross_site_posts_are_refused(rt: Runtime, web: TestClient) -> None:
    sid = active(rt, web)
    before = snapshot(rt)
    token = form_token(web.get("/").text)
    evil = {"Origin": "http://evil.example"}
    assert web.post("/subscribe", data={"email": "x@example.org", "interests": "y",
                                        "form_token": token}, headers=evil).status_code == 403
    prefs = f"/preferences/{make_token(SECRET, 'preferences', sid)}"
    assert web.post(prefs, data=PREFERENCES, headers=evil).status_code == 403
    assert web.post(prefs, data=PREFERENCES,
                    headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert snapshot(rt) == before
    # One-click unsubscribe is exempt: mail providers post it from elsewhere.
    unsub = f"/unsubscribe/{make_token(SECRET, 'unsubscribe', sid)}"
    assert web.post(unsub, data={"List-Unsubscribe": "One-Click"}, headers=evil).status_code == 200


def test_forged_cross_purpose_expired_and_replayed_tokens(rt: Runtime, web: TestClient) -> None:
    sid = active(rt, web)
    now_iso = datetime.now(UTC).isoformat()
    tokens = {p: make_token(SECRET, p, sid) for p in ("unsubscribe", "preferences", "delete")}
    tokens["feedback"] = make_token(SECRET, "feedback", sid, paper="2401.00001", signal="more")
    tokens["confirm"] = make_token(SECRET, "confirm", sid, n=now_iso)
    paths = {"confirm": "/confirm/{}", "unsubscribe": "/unsubscribe/{}",
             "preferences": "/preferences/{}", "feedback": "/feedback/{}", "delete": "/delete/{}"}
    before = snapshot(rt)
    bad = []
    for purpose, path in paths.items():
        for other, token in tokens.items():
            if other != purpose:  # cross-purpose: a good signature, the wrong salt
                bad.append((path.format(token), 400))
        good = tokens[purpose]
        bad += [
            (path.format(good[:-2] + ("AA" if not good.endswith("AA") else "BB")), 400),  # forged
            (path.format(make_token("another-secret", purpose, sid, n=now_iso, paper="p",
                                    signal="more")), 400),
            (path.format("x" * 2000), 400),
            (path.format("not-a-token"), 400),
        ]
    old = int(time.time()) - 3 * 86400
    bad += [(f"/confirm/{make_token(SECRET, 'confirm', sid, issued_at=old, n=now_iso)}", 410),
            (f"/delete/{make_token(SECRET, 'delete', sid, issued_at=old)}", 410),
            (f"/confirm/{tokens['confirm']}", 410)]  # replay: already confirmed
    for url, status in bad:
        for method in ("GET", "POST"):
            answer = web.request(method, url)
            assert answer.status_code == status, (method, url, answer.status_code)
            assert "<h1>" in answer.text and "Traceback" not in answer.text
    assert snapshot(rt) == before


def test_old_confirmation_cannot_resubscribe_after_unsubscribe(rt: Runtime, web: TestClient) -> None:
    sid = active(rt, web)
    old_confirm = make_token(SECRET, "confirm", sid, n=datetime.now(UTC).isoformat())
    unsub = f"/unsubscribe/{make_token(SECRET, 'unsubscribe', sid)}"
    assert web.post(unsub, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    before = snapshot(rt)
    assert web.post(f"/confirm/{old_confirm}").status_code == 410
    assert get_subscriber(rt.engine, subscriber_id=sid).status == "unsubscribed"
    assert snapshot(rt) == before


def test_feedback_token_with_a_bad_signal_is_refused(rt: Runtime, web: TestClient) -> None:
    sid = active(rt, web)
    before = snapshot(rt)
    for extra in ({"paper": "p", "signal": "maybe"}, {"paper": "", "signal": "more"},
                  {"paper": "x" * 301, "signal": "less"}, {"signal": "more"}):
        token = make_token(SECRET, "feedback", sid, **extra)
        assert web.post(f"/feedback/{token}").status_code == 400
    assert snapshot(rt) == before


def test_unknown_routes_and_methods_get_pages(web: TestClient) -> None:
    assert web.get("/nope").status_code == 404
    assert web.put("/subscribe").status_code == 405
    assert web.post("/subscribe", content=b"\xff\xfe", headers={
        "Content-Type": "application/x-www-form-urlencoded"}).status_code == 400


def test_flood_from_one_ip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rt = make_runtime(tmp_path, monkeypatch, DIGEST_WEB__IP_LIMIT="5")
    web = TestClient(create_app(rt))
    for i in range(5):
        assert subscribe(web, email=f"person{i}@example.org").status_code == 200
    before = snapshot(rt)
    for i in range(5, 10):
        answer = subscribe(web, email=f"person{i}@example.org")
        assert answer.status_code == 429 and int(answer.headers["Retry-After"]) > 0
    assert snapshot(rt) == before
    rt.close()


def test_flood_for_one_address_from_many_ips(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """List bombing: one confirmation mail per address per window, whoever asks; every
    request gets the same answer, so an active address looks exactly like a new one (no
    enumeration), and the flood sends nothing more."""
    # The per-IP limit out of the way: only the per-address one may act here.
    rt = make_runtime(tmp_path, monkeypatch, DIGEST_WEB__IP_LIMIT="1000")
    web = TestClient(create_app(rt))
    member = validate_profile({"email": "member@example.org", "interests": "graphs"})
    upsert_subscriber(rt.engine, member, now=datetime.now(UTC), status="active", origin="cli")
    first_new = subscribe(web, email="victim@example.org").text
    first_member = subscribe(web, email="member@example.org").text
    assert first_new.replace("victim@", "X@") == first_member.replace("member@", "X@")
    before = snapshot(rt)
    assert len(before[1]) == 1  # the victim's confirmation; the member gets nothing
    for address in ("victim@example.org", "member@example.org"):
        for _ in range(20):
            token = form_token(web.get("/").text)
            answer = web.post("/subscribe", data={
                "email": address, "interests": "b", "form_token": token})
            assert answer.status_code == 200
            assert answer.text == (first_new if address.startswith("victim") else first_member)
    assert snapshot(rt) == before
    rt.close()


def test_form_input_is_escaped_when_shown_back(rt: Runtime, web: TestClient) -> None:
    answer = subscribe(web, email="bad address", interests='<script>alert(1)</script>"><img>')
    assert answer.status_code == 400
    assert "<script>alert" not in answer.text and "&lt;script&gt;" in answer.text
    assert "<img>" not in answer.text


def test_oversized_bodies_are_refused_before_parsing(rt: Runtime, web: TestClient) -> None:
    before = snapshot(rt)
    answer = web.post("/subscribe", content=b"email=" + b"a" * 200_000, headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 413 and "<h1>" in answer.text
    assert snapshot(rt) == before

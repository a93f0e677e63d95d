"""Same answer for every address, and ways back for a reader (issue 14), through the ASGI
app (the test client runs each request's queued work right after the answer).

Timing is measured by bench/enumeration.py, never asserted here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from digest.app.visitor_requests import VisitorQueue
from digest.cli import app as cli
from digest.profiles import validate_profile
from digest.runtime import Runtime
from digest.store.subscribers import get_subscriber, set_status, upsert_subscriber
from digest.web import create_app
from tests.smtp_sink import free_port
from tests.web_support import find_link, form_token, make_runtime

STATES = ("active", "pending", "unsubscribed", "bounced")


@pytest.fixture
def rt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    runtime = make_runtime(tmp_path, monkeypatch, DIGEST_WEB__IP_LIMIT="1000")
    yield runtime
    runtime.close()


@pytest.fixture
def web(rt: Runtime) -> TestClient:
    return TestClient(create_app(rt), base_url="http://127.0.0.1:8000")


def mails(rt: Runtime, to: str | None = None) -> list[EmailMessage]:
    out = rt.settings.outbox_dir
    files = sorted(out.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns) if out.is_dir() else []
    found = [message_from_bytes(p.read_bytes(), policy=policy.default) for p in files]
    return [m for m in found  # type: ignore[misc]
            if to is None or m["To"].addresses[0].addr_spec == to]


def member(rt: Runtime, email: str, status: str = "active") -> int:
    data = validate_profile({"email": email, "interests": "graph neural networks"})
    sid, _ = upsert_subscriber(rt.engine, data, now=datetime.now(UTC) - timedelta(days=2),
                               status="active" if status == "active" else "pending",
                               origin="cli")
    if status not in ("active", "pending"):
        set_status(rt.engine, sid, status, now=datetime.now(UTC) - timedelta(days=1))
    return sid


def post(web: TestClient, path: str, email: str) -> tuple[int, str]:
    token = form_token(web.get("/").text)
    answer = web.post(path, data={"email": email, "interests": "graphs", "form_token": token})
    return answer.status_code, answer.text.replace(email, "ADDRESS")


def test_every_address_gets_the_same_answer_even_with_the_relay_down(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Nothing listens on the relay's port: every connection is refused.
    rt = make_runtime(tmp_path, monkeypatch, smtp=("127.0.0.1", free_port()))
    web = TestClient(create_app(rt))
    for state in STATES:
        member(rt, f"{state}@example.org", state)
    answers = {post(web, "/subscribe", f"{s}@example.org") for s in STATES}
    answers.add(post(web, "/subscribe", "new@example.org"))
    assert len(answers) == 1 and next(iter(answers))[0] == 200  # never a 503
    links = {post(web, "/link", f"{s}@example.org") for s in (*STATES, "new")}
    assert len(links) == 1 and next(iter(links))[0] == 200
    # Kept for a retry: the confirmations due (new, pending, unsubscribed) and the active
    # subscriber's links; nothing for the bounced address.
    assert VisitorQueue(rt.engine, rt.subscriptions).waiting() == 4
    rt.close()


def test_send_me_my_link_mails_only_an_active_subscriber(rt: Runtime, web: TestClient) -> None:
    for state in STATES:
        member(rt, f"{state}@example.org", state)
    page = web.get("/link")
    assert page.status_code == 200 and 'action="/link"' in page.text
    answers = {post(web, "/link", f"{s}@example.org") for s in (*STATES, "new")}
    assert len(answers) == 1
    [mail] = mails(rt)
    assert mail["To"].addresses[0].addr_spec == "active@example.org"
    assert "links" in mail["Subject"]
    preferences = find_link(mail, "preferences")
    assert web.get(preferences.replace("http://127.0.0.1:8000", "")).status_code == 200
    # Asked again at once: no second mail (one per DIGEST_WEB__CONFIRM_RESEND), same page.
    assert post(web, "/link", "active@example.org") in answers
    assert len(mails(rt)) == 1


def _unsubscribe_page(web: TestClient, rt: Runtime, sid: int) -> str:
    sub = get_subscriber(rt.engine, subscriber_id=sid)
    assert sub is not None
    url = rt.subscriptions.links.url("unsubscribe", sub.id, sub.public_id)
    answer = web.post(url.replace("http://127.0.0.1:8000", ""))
    assert answer.status_code == 200 and "will receive no more digests" in answer.text
    return answer.text


def test_the_unsubscribe_page_offers_an_undo_for_that_unsubscribe_only(
        rt: Runtime, web: TestClient) -> None:
    sid = member(rt, "reader@example.org")
    page = _unsubscribe_page(web, rt, sid)
    undo = re.search(r'action="(/resubscribe/[^"]+)"', page)
    assert undo, page
    assert web.get(undo.group(1)).status_code == 200  # a page with a button; nothing changes
    assert get_subscriber(rt.engine, subscriber_id=sid).status == "unsubscribed"  # type: ignore[union-attr]
    done = web.post(undo.group(1))
    assert done.status_code == 200 and "subscribed again" in done.text
    assert get_subscriber(rt.engine, subscriber_id=sid).status == "active"  # type: ignore[union-attr]
    assert web.post(undo.group(1)).status_code == 410  # already subscribed: nothing to undo

    # Unsubscribing again later: the old undo link does not undo the new decision.
    later = _unsubscribe_page(web, rt, sid)
    assert web.post(undo.group(1)).status_code == 410
    assert get_subscriber(rt.engine, subscriber_id=sid).status == "unsubscribed"  # type: ignore[union-attr]
    assert re.search(r'action="(/resubscribe/[^"]+)"', later) is not None

    # A pending reader never confirmed: unsubscribing them offers no undo.
    pending = member(rt, "pending@example.org", "pending")
    assert "/resubscribe/" not in _unsubscribe_page(web, rt, pending)


def test_signing_up_again_right_after_unsubscribing_sends_a_confirmation(
        rt: Runtime, web: TestClient) -> None:
    # The reader confirmed a moment ago (their confirmation mail is recent), then left.
    assert post(web, "/subscribe", "back@example.org")[0] == 200
    [first] = mails(rt, "back@example.org")
    confirm = find_link(first, "confirm").replace("http://127.0.0.1:8000", "")
    assert web.post(confirm).status_code == 200
    sub = get_subscriber(rt.engine, email="back@example.org")
    assert sub is not None
    _unsubscribe_page(web, rt, sub.id)
    sent = len(mails(rt, "back@example.org"))
    assert post(web, "/subscribe", "back@example.org")[0] == 200
    again = mails(rt, "back@example.org")[sent:]
    assert [m["Subject"] for m in again] == [first["Subject"]]  # a new confirmation


def test_the_resend_limit_counts_confirmation_mails_and_says_when(
        rt: Runtime, web: TestClient) -> None:
    assert post(web, "/subscribe", "slow@example.org")[0] == 200
    assert post(web, "/subscribe", "slow@example.org")[0] == 200
    assert len(mails(rt, "slow@example.org")) == 1  # one confirmation per window
    # Requests for an active address send nothing, so they never count against it.
    member(rt, "reader@example.org")
    for _ in range(3):
        assert post(web, "/subscribe", "reader@example.org")[0] == 200
    assert mails(rt, "reader@example.org") == []
    result = CliRunner().invoke(cli, ["subscribers", "add", "slow@example.org",
                                      "--interests", "x"])
    assert result.exit_code == 0
    assert "already sent at" in result.stdout and "UTC" in result.stdout
    assert len(mails(rt, "slow@example.org")) == 1

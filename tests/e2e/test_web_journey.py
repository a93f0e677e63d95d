"""The whole subscriber journey over HTTP against a running uvicorn and a real SMTP sink:
subscribe → confirm → welcome → preferences → a digest with the new interests →
one-click unsubscribe → no further mail."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from digest.app.visitor_requests import VisitorQueue
from digest.store.subscribers import get_subscriber
from tests.smtp_sink import SmtpSink
from tests.web_support import (
    SEED_FEED,
    body_text,
    eventually,
    find_link,
    form_token,
    free_port,
    make_runtime,
    serve,
)

READER = "reader@example.org"
OLD_INTERESTS = "multi-armed bandits and regret bounds"
NEW_INTERESTS = "Mamba state space models, recurrent state capacity for long context"


def test_journey_over_http(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                           smtp_sink: SmtpSink) -> None:
    port = free_port()
    rt = make_runtime(tmp_path, monkeypatch, port=port, smtp=(smtp_sink.host, smtp_sink.port))

    def inbox() -> list[Any]:
        return [r.message for r in smtp_sink.handler.to(READER)]

    with serve(rt, port) as base, httpx.Client(base_url=base, follow_redirects=False) as web:
        # 1. subscribe: the page carries a signed form token
        page = web.get("/")
        assert page.status_code == 200
        answer = web.post("/subscribe", data={"email": READER, "interests": OLD_INTERESTS,
                                              "frequency": "weekly",
                                              "form_token": form_token(page.text)})
        assert answer.status_code == 200 and "Check your inbox" in answer.text
        # The confirmation is sent off the request path, just after the answer.
        eventually(lambda: len(inbox()) == 1)
        assert get_subscriber(rt.engine, email=READER).status == "pending"

        # 2. the confirmation email; opening the link (GET) changes nothing
        [confirmation] = inbox()
        assert confirmation["To"].addresses[0].addr_spec == READER
        confirm_url = find_link(confirmation, "confirm")
        assert confirm_url.startswith(base)
        shown = web.get(confirm_url)
        assert shown.status_code == 200 and 'method="post"' in shown.text
        assert get_subscriber(rt.engine, email=READER).status == "pending"

        # 3. the button confirms; a welcome email follows with the management links
        confirmed = web.post(confirm_url)
        assert confirmed.status_code == 200 and "subscribed" in confirmed.text
        assert get_subscriber(rt.engine, email=READER).status == "active"
        welcome = inbox()[1]
        assert "Welcome" in welcome["Subject"]
        preferences_url = find_link(welcome, "preferences")
        assert web.post(confirm_url).status_code == 410  # a replayed confirmation link

        # 4. change preferences: new interests, daily, three papers
        form = web.get(preferences_url)
        assert form.status_code == 200 and OLD_INTERESTS in form.text
        saved = web.post(preferences_url, data={
            "interests": NEW_INTERESTS, "seed_papers": "2410.07145", "frequency": "daily",
            "weekday": "friday", "hour": "7", "timezone": "Europe/Berlin",
            "papers_per_email": "3", "quiet_week": "send"})
        assert saved.status_code == 200 and "Saved" in saved.text
        sub = get_subscriber(rt.engine, email=READER)
        assert (sub.profile.interests, sub.frequency, sub.papers_per_email, sub.timezone,
                sub.weekday, sub.hour, sub.profile.seed_papers) == (
            NEW_INTERESTS, "daily", 3, "Europe/Berlin", 4, 7, ("2410.07145",))

        # 5. the next digest is ranked for the new interests
        now = datetime.now(UTC)
        [feed] = rt.fetcher.fetch(now=now, urls=[str(SEED_FEED)])
        assert feed.status == "ok" and feed.entries > 0
        assert rt.planner.plan(now=now).planned == 1
        assert rt.delivery.deliver().sent == 1
        digest_mail = inbox()[2]
        text = body_text(digest_mail)
        # The seed paper the reader named shapes the picks but is never sent back to them.
        assert "Abstract: https://arxiv.org/abs/2410.07145" not in text
        assert "because you liked Stuffed Mamba" in " ".join(text.split())
        assert "Structured State Space" in text
        assert "Tight Regret Bounds" not in text  # what the old interests would have picked
        assert text.count("Why it's here:") == 3

        # 6. one-click unsubscribe at the List-Unsubscribe URL (RFC 8058)
        assert digest_mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        unsubscribe_url = digest_mail["List-Unsubscribe"].split(",")[0].strip().strip("<>")
        assert unsubscribe_url.startswith(f"{base}/unsubscribe/")
        one_click = web.post(unsubscribe_url, content=b"List-Unsubscribe=One-Click",
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert one_click.status_code == 200
        assert "set-cookie" not in one_click.headers
        assert get_subscriber(rt.engine, email=READER).status == "unsubscribed"
        goodbye = inbox()[3]
        assert "unsubscribed" in goodbye["Subject"]
        again = web.post(unsubscribe_url, content=b"List-Unsubscribe=One-Click",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert again.status_code == 200  # harmless, and no second goodbye
        assert len(inbox()) == 4

        # 7. no further mail: tomorrow's edition is not planned for them
        tomorrow = now + timedelta(days=1)
        rt.planner.plan(now=tomorrow)
        rt.delivery.deliver(clock=lambda: tomorrow)
        assert len(inbox()) == 4
    rt.close()


def test_a_refused_confirmation_email_is_queued_and_retried(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             smtp_sink: SmtpSink) -> None:
    # The relay refuses for now (451, RFC 5321 §4.2.1: try again later): the visitor gets
    # the usual page, not a 503, and the request waits in the queue for its retry.
    smtp_sink.handler.script["flaky@example.org"] = ["451 4.3.0 try again later"]
    port = free_port()
    rt = make_runtime(tmp_path, monkeypatch, port=port, smtp=(smtp_sink.host, smtp_sink.port))
    queue = VisitorQueue(rt.engine, rt.subscriptions)
    with serve(rt, port) as base, httpx.Client(base_url=base) as web:
        token = form_token(web.get("/").text)
        answer = web.post("/subscribe", data={"email": "flaky@example.org", "interests": "x",
                                              "form_token": token})
        assert answer.status_code == 200 and "Check your inbox" in answer.text
        eventually(lambda: smtp_sink.handler.counts().get("flaky@example.org", 0) == 0
                   and _tried(rt))
        assert smtp_sink.handler.to("flaky@example.org") == []
        assert queue.waiting() == 1
    # The retry falls due (backoff) and the relay takes it now.
    later = datetime.now(UTC) + timedelta(minutes=5)
    assert asyncio.run(queue.work(now=later)).done == 1
    assert len(smtp_sink.handler.to("flaky@example.org")) == 1
    assert queue.waiting() == 0
    rt.close()


def _tried(rt: Any) -> bool:
    from sqlalchemy import select

    from digest.store.schema import visitor_requests

    with rt.engine.connect() as conn:
        return conn.execute(select(visitor_requests.c.attempts)).scalar() == 1

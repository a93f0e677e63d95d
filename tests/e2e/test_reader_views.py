"""Reading the digest elsewhere, against a real uvicorn and a real pipeline (seed feed →
plan → deliver into the outbox): the widest reader's email stays under the clip, its "view in
browser" page shows the email's HTML part, the private Atom feed parses with feedparser and
is revocable; the pages share one stylesheet under a strict CSP."""

from __future__ import annotations

import email
import email.policy
import re
import time
import tomllib
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from html import unescape
from pathlib import Path
from typing import Any

import feedparser
import httpx
import pytest

from digest.app.rankers import Rankers, ThisWeek
from digest.models import Ranking, Subscriber
from digest.profiles import validate_profile
from digest.runtime import Runtime
from digest.store.subscribers import get_subscriber
from tests.web_support import SEED_FEED, free_port, make_runtime, serve

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TOKEN = re.compile(r"/(unsubscribe|preferences|feedback|view)/[A-Za-z0-9_.\-]+")


def add_wide_reader(rt: Runtime, now: datetime) -> int:
    data = tomllib.loads((FIXTURES / "field_cases" / "13_wide_reader.toml").read_text())
    sub_id, _, _ = rt.subscribers.add_confirmed(validate_profile(data), now=now)
    return sub_id


def public_id(rt: Runtime, sub_id: int) -> str:
    """The random id every link of this subscriber carries (migration 0011_trust)."""
    sub = get_subscriber(rt.engine, subscriber_id=sub_id)
    assert sub is not None
    return sub.public_id


def send_edition(rt: Runtime, now: datetime) -> EmailMessage:
    rt.fetcher.fetch(now=now, urls=[str(SEED_FEED)])
    assert rt.planner.plan(now=now).planned == 1
    assert rt.delivery.deliver(clock=lambda: now).sent == 1
    [eml] = sorted((Path.cwd() / "outbox").glob("*.eml"))
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def eventually(get: Callable[[], str], wanted: str) -> str:
    """``get()`` again until its text contains ``wanted`` (a background job finishing);
    fails after two minutes."""
    deadline = time.monotonic() + 120
    while wanted not in (text := get()):
        assert time.monotonic() < deadline, f"{wanted!r} never appeared"
        time.sleep(0.2)
    return text


def html_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")  # SMTP's CRLF is the wire's, not the page's


def unsigned(html: str) -> str:
    """The page with each signed token replaced by its purpose. Tokens carry the second
    they were signed in (itsdangerous), so two renderings differ only there."""
    return TOKEN.sub(lambda m: f"/{m.group(1)}/TOKEN", html)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Runtime, int]:
    port = free_port()
    rt = make_runtime(tmp_path, monkeypatch, port=port, DIGEST_ACCENT_COLOR="#0b7a75")
    yield rt, port
    rt.close()


def test_the_widest_digest_stays_under_the_clip_and_opens_in_a_browser(
        world: tuple[Runtime, int]) -> None:
    rt, port = world
    now = datetime.now(UTC)
    add_wide_reader(rt, now)
    message = send_edition(rt, now)
    html = html_part(message)
    size = len(html.encode("utf-8"))
    print(f"wide reader (50 papers asked, seed feed): {size} bytes of HTML")
    assert size < 100_000
    # The ranker's relevance bar leaves this reader 30 of the seed's 60: 106.6 KB before.
    assert html.count("<h2") >= 25 and "did not fit" not in html
    view_url = re.search(r'href="([^"]+/view/[^"]+)"', html)
    assert view_url is not None
    with serve(rt, port), httpx.Client(timeout=120) as web:
        page = web.get(unescape(view_url.group(1)))
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "style-src 'unsafe-inline'" in page.headers["content-security-policy"]
        assert "script-src" not in page.headers["content-security-policy"]
        assert unsigned(page.text) == unsigned(html)
        assert page.text != unsigned(page.text)  # the page's own links are signed too
        # Another reader's token, or an edition never sent, shows nothing of it.
        other = rt.links.view(999, "no-such-reader", "weekly:2026-W48")
        assert web.get(other).status_code in (404, 410)
        never = rt.links.view(1, public_id(rt, 1), "weekly:1999-W01")
        assert web.get(never).status_code == 404


def test_the_private_feed_is_valid_atom_and_revocable(world: tuple[Runtime, int]) -> None:
    rt, port = world
    now = datetime.now(UTC)
    sub_id = add_wide_reader(rt, now)
    message = send_edition(rt, now)
    prefs = re.search(r'href="([^"]+/preferences/[^"]+)"', html_part(message))
    assert prefs is not None
    with serve(rt, port), httpx.Client(timeout=120) as web:
        page = web.get(unescape(prefs.group(1)))
        found = re.search(r'id="feed-url" href="([^"]+)"', page.text)
        assert found is not None
        feed_url = unescape(found.group(1))
        answer = web.get(feed_url)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("application/atom+xml")
        parsed = feedparser.parse(answer.content)
        assert not parsed.bozo, parsed.get("bozo_exception")
        assert parsed.version == "atom10"
        assert parsed.feed.title and parsed.feed.id and parsed.feed.updated
        [entry] = parsed.entries
        for key in ("id", "title", "updated", "link", "content"):
            assert entry.get(key), key
        assert entry.title == message["Subject"]
        assert "/view/" in entry.link
        text = entry.content[0].value
        assert "Why it\u2019s here:" in text and "<script" not in text
        # A new link revokes the old one; the new one works.
        redone = web.post(unescape(prefs.group(1)) + "/feed",
                          headers={"Origin": f"http://127.0.0.1:{port}"})
        assert redone.status_code == 200
        fresh = re.search(r'id="feed-url" href="([^"]+)"', redone.text)
        assert fresh is not None and unescape(fresh.group(1)) != feed_url
        assert web.get(feed_url).status_code == 400
        again = feedparser.parse(web.get(unescape(fresh.group(1))).content)
        assert again.feed.id == parsed.feed.id and len(again.entries) == 1
    assert sub_id


def test_pages_share_one_stylesheet_with_the_accent_colour(world: tuple[Runtime, int]) -> None:
    rt, port = world
    with serve(rt, port) as base, httpx.Client(base_url=base, timeout=120) as web:
        home = web.get("/")
        csp = home.headers["content-security-policy"]
        assert "style-src 'self'" in csp and "unsafe-inline" not in csp
        assert "script-src 'self'" in csp
        assert '<link rel="stylesheet" href="/static/digest.css">' in home.text
        assert "<style" not in home.text and " style=" not in home.text
        assert '<script src="/static/digest.js" defer></script>' in home.text
        css = web.get("/static/digest.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        assert "--accent: #0b7a75;" in css.text  # DIGEST_ACCENT_COLOR, not the default
        assert "#3b5bdb" not in css.text
        assert "prefers-color-scheme: dark" in css.text
        js = web.get("/static/digest.js")
        assert js.headers["content-type"].startswith("text/javascript")
        assert "resolvedOptions().timeZone" in js.text
        # The time-zone select is there without JavaScript, with every IANA zone.
        assert '<select id="timezone" name="timezone"' in home.text
        assert "<option>America/New_York</option>" in home.text
        assert "<option selected>UTC</option>" in home.text


def test_checking_interests_round_trips_without_saving_and_is_limited(
        world: tuple[Runtime, int]) -> None:
    rt, port = world
    now = datetime.now(UTC)
    sub_id = add_wide_reader(rt, now)
    rt.fetcher.fetch(now=now, urls=[str(SEED_FEED)])
    ranked: list[str] = []

    class CountingRankers(Rankers):
        def rank(self, ranker: Any, subscriber: Subscriber, **kw: Any) -> Ranking:
            ranked.append(subscriber.profile.interests)
            return super().rank(ranker, subscriber, **kw)

    r = rt.rankers
    rt.reader.picker = ThisWeek(CountingRankers(r.engine, r.embedder, r.pool_max,
                                                r.include_revisions))
    prefs = rt.links.url("preferences", sub_id, public_id(rt, sub_id))
    form = {"interests": "protein design with diffusion models", "seed_papers": "",
            "frequency": "weekly", "weekday": "monday", "hour": "8",
            "timezone": "Europe/Berlin", "papers_per_email": "50", "quiet_week": "send"}
    origin = {"Origin": f"http://127.0.0.1:{port}"}
    with serve(rt, port) as base, httpx.Client(timeout=120) as web:
        # Page views never wait for the ranker: the picks show once ready.
        assert 'id="sample-pending"' in web.get(base + "/").text
        assert 'id="picks-pending"' in web.get(prefs).text
        home = eventually(lambda: web.get(base + "/").text, 'class="sample"')
        assert "Why it\u2019s here:" in home
        eventually(lambda: web.get(prefs).text, "For your saved interests")
        checked = web.post(prefs + "/check", data=form, headers=origin)
        assert checked.status_code == 200
        assert "For the text you typed (not saved yet)" in checked.text
        assert 'value="protein design with diffusion models"' in checked.text
        assert "<option selected>Europe/Berlin</option>" in checked.text  # the form as typed
        assert 'class="paper"' in checked.text and "Why it\u2019s here:" in checked.text
        stored = rt.subscribers.all()[0]
        assert stored.profile.interests.startswith("machine learning")  # nothing saved
        assert stored.timezone == "UTC"
        # The same text again is answered from the cache: no second ranking.
        assert ranked.count(form["interests"]) == 1
        for _ in range(9):
            assert web.post(prefs + "/check", data=form, headers=origin).status_code == 200
        assert ranked.count(form["interests"]) == 1
        limited = web.post(prefs + "/check", data=form, headers=origin)
        assert limited.status_code == 200 and 'id="check-wait"' in limited.text
        assert 'class="paper"' not in limited.text

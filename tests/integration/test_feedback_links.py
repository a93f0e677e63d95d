"""Feedback links as readers get them, on both backends: the "more / less like this" links of
a composed digest (text and HTML alike) record their signal on POST, never on GET, and only
for the reader, paper and signal they name; a tampered link gets the page any bad link gets;
links minted the old way (one full signed token per link) keep working."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

from fastapi.testclient import TestClient
from sqlalchemy import select

from digest.models import Pick, Ranking, Subscriber
from digest.profiles import validate_profile
from digest.render.samples import sample_papers
from digest.runtime import Runtime
from digest.store.schema import feedback
from digest.store.subscribers import delete_subscriber, get_subscriber, upsert_subscriber
from digest.tokens import make_token
from tests.web_support import SECRET, body_text

NOW = datetime.now(UTC) - timedelta(hours=1)
EDITION = "weekly:2026-W48"
FEEDBACK = re.compile(r"https?://[^\s<>\"]+/feedback/[A-Za-z0-9_.\-]+")


def member(rt: Runtime, email: str) -> Subscriber:
    data = validate_profile({"email": email, "interests": "graph neural networks"})
    sid, _ = upsert_subscriber(rt.engine, data, now=NOW, status="active", origin="cli")
    sub = get_subscriber(rt.engine, subscriber_id=sid)
    assert sub is not None and sub.public_id
    return sub


def recorded(rt: Runtime) -> list[tuple[int, str, int]]:
    with rt.engine.connect() as conn:
        rows = conn.execute(select(feedback.c.subscriber_id, feedback.c.paper_id,
                                   feedback.c.signal).order_by(feedback.c.id)).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def digest_links(rt: Runtime, sub: Subscriber) -> tuple[list[str], list[str]]:
    """The feedback links of this reader's composed digest: (text part, HTML part)."""
    picks = tuple(Pick(paper=p, score=1 - i / 10, reasons=("in cs.CL, one of your categories",))
                  for i, p in enumerate(sample_papers()[:3]))
    _, message = rt.mail.compose(sub, Ranking(picks=picks, considered=3), edition_key=EDITION,
                                 now=NOW)
    html = message.get_body(preferencelist=("html",))
    assert html is not None
    return FEEDBACK.findall(body_text(message)), FEEDBACK.findall(unescape(html.get_content()))


def path_of(url: str) -> str:
    return url[url.index("/feedback/"):]


def test_digest_feedback_links_record_on_post_only(rt: Runtime, web: TestClient) -> None:
    sub = member(rt, "reader@example.org")
    text, html = digest_links(rt, sub)
    papers = [p.id for p in sample_papers()[:3]]
    assert len(text) == 6 and text == html  # more, less for each paper, in both parts
    for url in text:
        assert web.get(path_of(url)).status_code == 200  # a link scanner's GET: nothing
    assert recorded(rt) == []
    first_more, first_less, second_more = text[0], text[1], text[2]
    assert web.post(path_of(first_more)).status_code == 200
    assert web.post(path_of(second_more)).status_code == 200
    assert web.post(path_of(first_less)).status_code == 200
    # one row per (reader, paper): the later "less" replaced the first paper's "more"
    assert recorded(rt) == [(sub.id, papers[1], 1), (sub.id, papers[0], -1)]
    profile = get_subscriber(rt.engine, subscriber_id=sub.id).profile  # type: ignore[union-attr]
    assert (profile.liked, profile.disliked) == ((papers[1],), (papers[0],))


def test_a_replayed_feedback_link_keeps_one_row(rt: Runtime, web: TestClient) -> None:
    # An attacker's report: 1,000 POSTs of one forwarded link made 1,000 rows, all read
    # again each time the reader is loaded. The latest signal is all that counts.
    sub = member(rt, "reader@example.org")
    text, _ = digest_links(rt, sub)
    for _ in range(50):
        assert web.post(path_of(text[0])).status_code == 200
    assert recorded(rt) == [(sub.id, sample_papers()[0].id, 1)]


def test_feedback_link_works_for_its_own_reader_paper_and_signal_only(
        rt: Runtime, web: TestClient) -> None:
    ada, bob = member(rt, "ada@example.org"), member(rt, "bob@example.org")
    ada_links, _ = digest_links(rt, ada)
    bob_links, _ = digest_links(rt, bob)
    forged_old = web.post("/feedback/" + make_token("not-the-secret", "feedback", ada.id,
                                                    public_id=ada.public_id, paper="2401.00001",
                                                    signal="more"))
    assert forged_old.status_code == 400
    tampered = []
    for mine, theirs in ((ada_links[0], bob_links[0]), (ada_links[0], ada_links[2]),
                         (ada_links[0], ada_links[1])):
        # Each path segment of the token swapped for the other link's: another reader's
        # identity, another paper, the other signal, under this link's tag.
        a, b = path_of(mine).split("."), path_of(theirs).split(".")
        tampered += [".".join([*a[:i], b[i], *a[i + 1:]]) for i in range(len(a)) if a[i] != b[i]]
    tampered.append(path_of(ada_links[0]).replace(".more.", ".less."))
    assert len(tampered) >= 4
    for path in tampered:
        for method in ("GET", "POST"):
            answer = web.request(method, path)
            # The very page any bad link gets: nothing says which part was wrong.
            assert (answer.status_code, answer.text) == (400, forged_old.text), (method, path)
    assert recorded(rt) == []
    assert web.post(path_of(bob_links[1])).status_code == 200
    assert recorded(rt) == [(bob.id, sample_papers()[0].id, -1)]


def test_feedback_link_of_a_deleted_reader_records_nothing(rt: Runtime, web: TestClient) -> None:
    gone = member(rt, "gone@example.org")
    links, _ = digest_links(rt, gone)
    old = make_token(SECRET, "feedback", gone.id, public_id=gone.public_id,
                     paper="2401.00001", signal="more")
    assert delete_subscriber(rt.engine, gone.id, now=NOW) is not None
    member(rt, "next@example.org")  # SQLite may hand the next sign-up the same integer id
    answers = [web.post(path_of(links[0])), web.post(f"/feedback/{old}")]
    assert [a.status_code for a in answers] == [410, 410]  # as for every link of theirs
    assert recorded(rt) == []


def test_feedback_links_minted_the_old_way_still_record(rt: Runtime, web: TestClient) -> None:
    """Every digest sent before the short links carried one full signed token per link:
    those are in inboxes and must keep recording their signal."""
    sub = member(rt, "reader@example.org")
    less = make_token(SECRET, "feedback", sub.id, public_id=sub.public_id, paper="2401.00001",
                      signal="less")
    assert web.get(f"/feedback/{less}").status_code == 200
    assert recorded(rt) == []
    assert web.post(f"/feedback/{less}").status_code == 200
    assert recorded(rt) == [(sub.id, "2401.00001", -1)]

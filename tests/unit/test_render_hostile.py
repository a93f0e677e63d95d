"""Property test: hostile feed text through render + compose stays well-formed and inert."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from html.parser import HTMLParser

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digest.compose import compose_message, make_message_id
from digest.models import Paper, Pick, Ranking, Subscriber
from digest.render import Renderer, default_templates_dir
from digest.render.samples import (
    sample_branding,
    sample_edition,
    sample_links,
    sample_ranking,
    sample_subscriber,
)

EXPECTED_HEADERS = [
    "From", "To", "Subject", "Date", "Message-ID", "List-Id",
    "List-Unsubscribe", "List-Unsubscribe-Post", "MIME-Version", "Content-Type",
]
HOSTILE = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    '<img src=x onerror="alert(1)">',
    '<a href="javascript:alert(1)">click</a>',
    "javascript:alert(document.cookie)",
    "\r\nBcc: victim@example.org\r\n",
    "\nX-Injected: yes",
    "\x00",
    "\ud800",
    "\udfff lone low",
    "\u202eevil override",
    "]]><!--",
    "{{ 7*7 }} {% raw %}",
    "zqjx0xjqz",
    "\n--=_digest_alternative_7c1f\nContent-Type: text/html\n\n<script>x</script>",
    "&lt;b&gt; &amp;amp;",
    "\"'><style>body{display:none}</style>",
    "x" * 10_000,
    "Ünïcödé — “quotes” 数学",
]
URLS = ["javascript:alert(1)", "data:text/html,<script>x</script>", " https://ok.example/a",
        "https://ok.example/\"onclick=\"x", "vbscript:x", "https://ok.example/p?a=1&b=<2>"]

hostile_text = st.lists(
    st.one_of(st.sampled_from(HOSTILE), st.text(max_size=40),
              st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x9F), max_size=10),
              st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), max_size=3)),
    max_size=4,
).map("".join)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attrs.extend(attrs)


def _tags(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    parser.close()
    return parser


RENDERER = Renderer(default_templates_dir(), branding=sample_branding())
_sub = sample_subscriber(0)
BENIGN = _tags(
    RENDERER.render_digest(subscriber=_sub, ranking=sample_ranking(0, quiet=True),
                           edition=sample_edition(), links=sample_links(_sub)).html
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    title=hostile_text, abstract=hostile_text, summary=st.one_of(st.none(), hostile_text),
    authors=st.lists(hostile_text, max_size=5), reason=hostile_text, name=hostile_text,
    interests=hostile_text, url=st.sampled_from(URLS), paper_id=hostile_text,
)
def test_hostile_feed_text_renders_inert_and_composes_well_formed(
    title: str, abstract: str, summary: str | None, authors: list[str], reason: str,
    name: str, interests: str, url: str, paper_id: str,
) -> None:
    paper = Paper(id=paper_id or "x", title=title, abstract=abstract, authors=tuple(authors),
                  url=url, pdf_url=url, code_url=url, summary=summary, upvotes=3)
    base = sample_subscriber(1)
    sub = Subscriber(id=base.id, email=base.email, name=name,
                     profile=type(base.profile)(interests=interests))
    ranking = Ranking(picks=(Pick(paper=paper, score=1.0, reasons=(reason,)),) * 2, considered=9)
    links = sample_links(sub)
    out = RENDERER.render_digest(subscriber=sub, ranking=ranking, edition=sample_edition(),
                                 links=links)

    html = out.html
    assert "<script" not in html.lower()
    found = _tags(html)
    assert found.tags <= BENIGN.tags, found.tags - BENIGN.tags  # no feed markup became a tag
    for attr, value in found.attrs:
        assert not attr.startswith("on"), attr
        if attr == "href":
            assert value is not None and re.match(r"https?://", value), value
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]", html + out.text)
    assert all(len(line) < 2000 for line in out.text.splitlines())
    assert len(html) < 60_000  # a 10 kB title is cut, not repeated whole

    msg = compose_message(
        out, to_addr=sub.email, to_name=name, from_addr="digest@example.org",
        from_name=name or "Paper Digest", message_id=make_message_id("weekly:2026-W48", sub.id,
                                                                     "example.org"),
        date=datetime(2026, 11, 30, 8, tzinfo=UTC), list_id="Digest <w.example.org>",
        unsubscribe_url=links.unsubscribe_url, unsubscribe_mailto=links.list_unsubscribe_mailto,
    )
    raw = msg.as_bytes()
    assert raw.isascii()
    assert raw == EmailMessage.as_bytes(msg)
    parsed = BytesParser(policy=policy.default).parsebytes(raw)
    assert parsed.keys() == EXPECTED_HEADERS
    assert not parsed.defects
    assert len(parsed["To"].addresses) == 1 and parsed["To"].addresses[0].addr_spec == sub.email
    assert "\n" not in str(parsed["Subject"]) and "\r" not in str(parsed["To"])
    parts = list(parsed.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert parts[1].get_content().replace("\r\n", "\n") == html

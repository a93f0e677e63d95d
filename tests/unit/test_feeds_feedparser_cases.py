"""feedparser's own ill-formed, encoding, entity, RDF and sanitizer cases, through parse_feed.

Each file's header comment says what feedparser expects; here that expectation is checked
on the fields digest uses (title, abstract, link, id, dates, clean text, bozo → error or
warning). Entries of these tiny files often have no title, so field checks look at
``papers + rejected`` (rejected = normalized but not a usable paper).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from digest.feeds import parse_feed
from digest.feeds.parse import ParsedFeed

CASES = Path(__file__).resolve().parents[1] / "fixtures" / "feeds" / "feedparser_cases"
ALL = sorted(p.relative_to(CASES).as_posix() for p in CASES.rglob("*.xml"))
_HEADER = re.compile(r"^Header:\s*Content-type:\s*(.+)$", re.MULTILINE | re.IGNORECASE)


def parse(name: str) -> ParsedFeed:
    data = (CASES / name).read_bytes()
    header = _HEADER.search(data.decode("latin-1"))
    return parse_feed(data, source="case", content_type=header.group(1).strip() if header else None)


def first(feed: ParsedFeed):
    items = feed.papers + feed.rejected
    assert items, "expected an entry"
    return items[0]


def expects_bozo(name: str) -> bool:
    text = (CASES / name).read_bytes().decode("latin-1")
    expect = re.search(r"Expect:\s*(.*)", text)
    return bool(expect) and expect.group(1).strip().startswith("bozo")


@pytest.mark.parametrize("name", ALL)
def test_every_case_parses_without_raising_and_bozo_is_reported(name: str) -> None:
    feed = parse(name)
    for paper in feed.papers + feed.rejected:
        for text in (paper.title, paper.abstract, *paper.authors):
            assert "<" not in text or "&" in text or not re.search(r"<[a-zA-Z/!]", text)
            assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", text)
        for link in (paper.url, paper.pdf_url):
            assert link is None or link.startswith(("http://", "https://"))
    if expects_bozo(name):
        assert feed.error or feed.warning, f"{name}: feedparser calls it bozo, we said nothing"


# Files whose Expect says "not bozo": digest must not call them failed.
NOT_BOZO = [n for n in ALL if "not bozo" in (CASES / n).read_bytes().decode("latin-1")]


@pytest.mark.parametrize("name", NOT_BOZO)
def test_well_formed_cases_are_not_errors(name: str) -> None:
    assert parse(name).error is None


@pytest.mark.parametrize(("name", "encoding"), [
    ("encoding/big5.xml", "big5"),
    ("encoding/utf-8-bom.xml", "utf-8"),
    ("encoding/no_content_type_default.xml", "utf-8"),
    ("encoding/http_text_xml_charset_overrides_encoding.xml", "us-ascii"),
    ("encoding/utf-16le-bom.xml", "utf-16le"),
    ("encoding/utf-32le-bom.xml", "utf-32le"),
    ("encoding/utf-16be-autodetect.xml", "utf-16be"),
])
def test_declared_and_detected_encodings(name: str, encoding: str) -> None:
    feed = parse(name)
    assert feed.error is None
    assert (feed.encoding or "").lower() == encoding


@pytest.mark.parametrize(("name", "encodings", "title"), [
    ("illformed/koi8r.xml", {"koi8-r"}, "Как пережить новогоднюю ночь"),
    ("illformed/gb2312.xml", {"gb2312", "gb18030"}, "不归移民漫画系列：专业工作"),  # noqa: RUF001 (the feed's own punctuation)
    ("illformed/shiftjis.xml", {"shift_jis", "cp932"}, "DrecomRSSに記事投稿が反映されない…"),
])
def test_undeclared_encodings_are_guessed_into_clean_text(name: str, encodings: set[str],
                                                          title: str) -> None:
    feed = parse(name)
    assert (feed.encoding or "").lower() in encodings
    assert feed.warning and feed.error is None  # bozo, yet readable: a warning, not a failure
    assert first(feed).title == title


def test_windows1255_body_is_hebrew_text() -> None:
    feed = parse("illformed/windows1255.xml")
    assert (feed.encoding or "").lower() == "windows-1255"
    assert first(feed).abstract.startswith("האם תדפיס נייר")


def test_http_charset_header_is_used() -> None:
    feed = parse("encoding/bozo_http_i18n.xml")  # text/xml without charset means us-ascii
    assert (feed.warning and "us-ascii" in feed.warning.lower()) or feed.encoding == "utf-8"


@pytest.mark.parametrize(("name", "abstract"), [
    ("encoding/demoronize-1.xml", "don\u2019t"),
    ("encoding/double-encoded-html.xml", "\u2026"),
    ("rdf/rdf_item_description.xml", "Example description"),
    ("wellformed/item_description_escaped_markup.xml", "Example description"),
    ("sanitize/entry_summary_script.xml", "safe description"),
    ("sanitize/entry_summary_script_base64.xml", "safe description"),
    ("sanitize/entry_content_script.xml", "safe description"),
    ("sanitize/entry_content_script_cdata.xml", "safe description"),
    ("sanitize/entry_content_iframe.xml", "safe description"),
    ("sanitize/entry_content_style.xml", "never trust your upstream platypus"),
    ("sanitize/acceptable_element_noscript.xml", ""),
    ("sanitize/entry_content_onclick.xml", ""),
])
def test_abstract_is_clean_text(name: str, abstract: str) -> None:
    assert first(parse(name)).abstract == abstract


@pytest.mark.parametrize("name", ["sanitize/entry_summary_crazy.xml",
                                  "sanitize/entry_content_crazy.xml",
                                  "sanitize/entry_title_crazy.xml"])
def test_crazy_html_leaves_no_markup(name: str) -> None:
    paper = first(parse(name))
    text = paper.title + paper.abstract
    assert text.startswith("Crazy HTML -- Can Your Regex Parse This?")
    assert "<" not in text and ">" not in text  # no tag, no comment survived as markup


@pytest.mark.parametrize(("name", "title"), [
    ("entities/8217.xml", "testing \u2019 entity"),
    ("entities/hellip.xml", "testing \u2026 entity"),
    ("entities/doesnotexist.xml", "testing &doesnotexist; entity"),
    ("wellformed/escaped_apos.xml", "it's correct"),
    ("illformed/always_strip_doctype.xml", "found"),
    ("rdf/rdf_channel_title.xml", "Example feed"),
    ("encoding/euc-kr.xml", "\ub144"),
])
def test_feed_titles(name: str, title: str) -> None:
    assert parse(name).title == title


def test_links_ids_and_dates() -> None:
    assert first(parse("rdf/rdf_item_link.xml")).url == "http://example.com/1"
    assert first(parse("rdf/rdf_item_rdf_about.xml")).id == "url:https://example.org/1"
    assert first(parse("rdf/rss090_item_title.xml")).title == "Item title"
    assert first(parse("illformed/rss_item_link_corrupted_ampersands.xml")).url == \
        "http://link/get?a=1&b=2"
    assert first(parse("wellformed/item_guid_isPermaLink_conflict_link.xml")).url == \
        "http://link.example.com/"
    not_permalink = first(parse("wellformed/item_guid_not_permalink.xml"))
    assert not_permalink.url is None and not_permalink.id == "url:https://guid.example.com"
    assert first(parse("wellformed/item_pubDate_map_updated_parsed.xml")).published == \
        datetime(2004, 1, 1, 19, 48, 21, tzinfo=UTC)


@pytest.mark.parametrize("name", ["illformed/rss_empty_document.xml",
                                  "illformed/aaa_illformed.xml",
                                  "illformed/undeclared_namespace.xml",
                                  "illformed/rss_incomplete_cdata.xml"])
def test_unreadable_documents_are_errors_not_empty_feeds(name: str) -> None:
    feed = parse(name)
    assert feed.error and not feed.papers

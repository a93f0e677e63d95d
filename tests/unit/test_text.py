"""Field shaping: URLs, text cleaning, authors, excerpts, wrapping."""

from __future__ import annotations

import pytest

from digest.render.fields import excerpt, short_authors, wrap
from digest.text import display_line, http_url, shorten


@pytest.mark.parametrize(
    "url",
    ["https://arxiv.org/abs/2401.01234", "http://example.org/a?b=c&d=e#f", "HTTPS://Example.org/"],
)
def test_http_url_keeps_http_links(url: str) -> None:
    assert http_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        " JaVaScRiPt:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox",
        "//evil.example/x",
        "/relative/path",
        "https://",
        'https://example.org/"onmouseover="alert(1)',
        "https://example.org/a b",
        "https://example.org/\r\nSet-Cookie: x",
        "https://exa\ud800mple.org/",
        "ftp://example.org/file",
        None,
        42,
        "",
    ],
)
def test_http_url_rejects_everything_else(url: object) -> None:
    assert http_url(url) is None


def test_display_line_removes_controls_bidi_and_surrogates() -> None:
    raw = "A\r\nB\x00C\tD\u202eE\ud800F\x85G   H"
    assert display_line(raw) == "A B C D E F G H"


def test_display_line_caps_length_at_a_word() -> None:
    out = display_line("word " * 5000, limit=50)
    assert len(out) <= 50 and out.endswith("…") and "  " not in out


def test_shorten_leaves_short_text_alone() -> None:
    assert shorten("short", 10) == "short"


def test_short_authors() -> None:
    assert short_authors(("A", "B")) == "A, B"
    assert short_authors(("A", "B", "C")) == "A, B, C"
    assert short_authors(("A", "B", "C", "D")) == "A, B, C et al."
    assert short_authors(("", " ", "X\r\nY")) == "X Y"


def test_excerpt_without_a_contribution_sentence_takes_the_first_two() -> None:
    abstract = "First sentence here. Second one follows. Third is short. Fourth never shows."
    assert excerpt(abstract) == "First sentence here. Second one follows."


def test_excerpt_prefers_the_source_summary() -> None:
    assert excerpt("Long abstract. More.", "The source's own summary.") == "The source's own summary."


def test_excerpt_caps_one_giant_sentence() -> None:
    out = excerpt("word " * 1000)
    assert 0 < len(out) <= 420 and out.endswith("…")


def test_wrap_keeps_lines_within_width_and_indents() -> None:
    text = "lorem ipsum dolor sit amet " * 20
    lines = wrap(text, 40, "   ").split("\n")
    assert all(len(line) <= 40 and line.startswith("   ") for line in lines)
    assert " ".join(line.strip() for line in lines) == text.strip()


@pytest.mark.parametrize(
    "url",
    ["https://user@evil.example/", "https://bank.example@evil.example/x", "https://ex ample.org/",
     "https://exa_mple.org/", "https://ok.example:99999999/", "http://[::1/x"],
)
def test_http_url_rejects_hosts_that_are_not_plain(url: str) -> None:
    assert http_url(url) is None


def test_http_url_accepts_ports_ipv6_and_unicode_paths() -> None:
    for url in ("https://ok.example:8443/a", "http://[2001:db8::1]/x", "https://ok.example/ü?q=1"):
        assert http_url(url) == url

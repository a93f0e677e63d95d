"""pylatexenc says "Ignoring parse error (tolerant parsing mode)" at INFO for every odd brace
in a feed's metadata (14 lines for the demo's seed feed): noise in an operator's service log,
kept for when the log is at DEBUG."""

from __future__ import annotations

import logging

import pytest

from digest.feeds.tex import tex_to_unicode

ODD = "J\\\"org and a stray brace}"  # a closing brace without an opening one


def pylatexenc_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("pylatexenc")]


def test_tolerant_parse_errors_stay_out_of_an_info_log(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        assert tex_to_unicode(ODD).startswith("Jörg")
    assert pylatexenc_lines(caplog) == []


def test_they_are_shown_when_debugging(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        tex_to_unicode(ODD)
    assert any("tolerant parsing mode" in line for line in pylatexenc_lines(caplog))

"""The digest view model: period labels, accent shades, per-paper views."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from digest.models import EditionInfo, Paper, Pick
from digest.render.context import lighten, paper_view, period_label
from digest.render.samples import sample_links, sample_subscriber


def edition(start: datetime, end: datetime, frequency: str = "weekly") -> EditionInfo:
    return EditionInfo(key="k", frequency=frequency, period_start=start, period_end=end)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("start", "end", "frequency", "label"),
    [
        ((2026, 11, 23), (2026, 11, 30), "weekly", "23\u201329 Nov 2026"),  # exclusive midnight end
        ((2026, 11, 30), (2026, 12, 7), "weekly", "30 Nov \u2013 6 Dec 2026"),
        ((2026, 12, 28), (2027, 1, 4), "weekly", "28 Dec 2026 \u2013 3 Jan 2027"),
        ((2026, 11, 29), (2026, 11, 30), "daily", "Sun 29 Nov 2026"),
    ],
)
def test_period_label(start: tuple[int, int, int], end: tuple[int, int, int], frequency: str,
                      label: str) -> None:
    info = edition(datetime(*start, tzinfo=UTC), datetime(*end, tzinfo=UTC), frequency)
    assert period_label(info) == label


def test_lighten_mixes_towards_white() -> None:
    assert lighten("#000000", 0.5) == "#808080"
    assert lighten("#3b5bdb", 0.0) == "#3b5bdb"
    assert lighten("#3b5bdb", 1.0) == "#ffffff"


def test_paper_view_cleans_feed_fields_and_keeps_only_http_links() -> None:
    paper = Paper(id="2401.00001", title="A\r\nTitle <b>bold</b>", abstract="One. Two. Three. Four.",
                  authors=("A", "B", "C", "D"), url="javascript:alert(1)",
                  pdf_url="https://arxiv.org/pdf/2401.00001", code_url="ftp://x.org/c", stars=12)
    view = paper_view(Pick(paper=paper, score=1.0, reasons=("r1\n", "", "r2")),
                      sample_links(sample_subscriber(0)))
    assert view.title == "A Title <b>bold</b>"  # clean text; escaping is the template's job
    assert view.url is None and view.links == (("PDF", "https://arxiv.org/pdf/2401.00001"),)
    assert view.authors == "A, B, C et al."
    assert view.excerpt == "One. Two."
    assert view.reasons == ("r1", "r2")
    assert view.signal == "\u2605 12 GitHub stars"
    assert view.more_url is not None and view.more_url.endswith("/more")

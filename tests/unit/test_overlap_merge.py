"""Merging the reports of the delivery runs one overlapped send makes (app.overlap): a row
left waiting for a retry, or with an unknown outcome, by an early run must still count at
the end, since the exit code rule (cli/send.py: 1 when something waits) reads them."""

from __future__ import annotations

from digest.app.overlap import merge_reports
from digest.send.outcome import SendReport


def test_a_retry_left_by_the_first_run_still_counts_after_a_clean_second_run() -> None:
    first = SendReport(sent=199, retried=1, waiting=1, errors=["421 try later"])
    second = SendReport(sent=200)
    merged = merge_reports(merge_reports(SendReport(), first), second)
    assert (merged.sent, merged.retried, merged.waiting, merged.unknown) == (399, 1, 1, 0)
    assert merged.errors == ["421 try later"]


def test_an_unknown_outcome_of_an_early_run_still_counts() -> None:
    merged = merge_reports(SendReport(sent=3, unknown=1), SendReport(sent=2))
    assert (merged.sent, merged.unknown) == (5, 1)


def test_the_last_run_says_why_it_stopped() -> None:
    merged = merge_reports(SendReport(sent=2), SendReport(deferred="hourly cap reached"))
    assert merged.deferred == "hourly cap reached" and merged.sent == 2

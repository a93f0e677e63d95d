"""The progress bars of `digest send` / `digest run --once`: ranking and sending shown
together on a terminal (one rich display: rich refuses a second live one), nothing when
stderr is not a terminal."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

import digest.cli.common as common_cli
import digest.cli.send as send_cli


def _console(terminal: bool) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=terminal, width=100), out


def test_both_bars_show_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    console, out = _console(True)
    monkeypatch.setattr(common_cli, "err_console", console)  # the bars draw there
    with send_cli.plan_send_bars() as (on_planned, on_sent):
        on_planned(400, 1000)
        on_sent(37, 400)
    shown = out.getvalue()  # the last frame drawn when the work ends, then erased
    assert "ranking subscribers" in shown and "400/1000" in shown
    assert "sending" in shown and "37/400" in shown


def test_no_bars_off_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    console, out = _console(False)
    monkeypatch.setattr(common_cli, "err_console", console)  # the bars draw there
    with send_cli.plan_send_bars() as (on_planned, on_sent):
        on_planned(400, 1000)
        on_sent(37, 400)
    assert out.getvalue() == ""

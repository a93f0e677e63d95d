"""The served stylesheet: DIGEST_ACCENT_COLOR in, readable button text out (WCAG 2.x
contrast: white on dark accents, near-black on light ones)."""

from __future__ import annotations

import pytest

from digest.web.static import stylesheet, text_on


@pytest.mark.parametrize(("accent", "text"), [
    ("#3b5bdb", "#ffffff"),  # the default indigo: white is 5.6:1
    ("#0b7a75", "#ffffff"),  # dark teal
    ("#ffd43b", "#111827"),  # yellow: white would be 1.5:1
    ("#a5d8ff", "#111827"),  # light blue
])
def test_button_text_contrasts_with_the_accent(accent: str, text: str) -> None:
    assert text_on(accent) == text


def test_the_stylesheet_carries_the_deployment_accent() -> None:
    css = stylesheet("#ffd43b")
    assert "--accent: #ffd43b;" in css and "--accent-text: #111827;" in css
    assert "--link: #665518;" in css  # links on white: the yellow at 40% (6.5:1)
    assert "#3b5bdb" not in css  # no trace of the default accent
    assert "@media (prefers-color-scheme: dark)" in css

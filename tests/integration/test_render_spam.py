"""SpamAssassin (offline rules) must like the sample digest: score below 3."""

from __future__ import annotations

import shutil

import pytest

from digest.app.preview import spam_score
from digest.render.samples import sample_message

pytestmark = pytest.mark.skipif(shutil.which("spamassassin") is None,
                                reason="spamassassin not installed")


def test_sample_digest_scores_below_three() -> None:
    _, _, message = sample_message()
    report = spam_score(message.as_bytes())
    assert report is not None
    assert report.score < 3, report.tests


def test_the_score_is_real() -> None:
    # The same check must be able to fail: an obviously spammy message scores high.
    _, _, message = sample_message()
    spammy = message.as_bytes().replace(
        b"Subject: ", b"Subject: FREE VIAGRA!!! CLICK NOW $$$ WIN CASH ", 1
    ).replace(b"Your weekly papers", b"BUY CHEAP VIAGRA CIALIS NOW 100% FREE")
    report = spam_score(spammy)
    clean = spam_score(message.as_bytes())
    assert report is not None and clean is not None and report.score > clean.score

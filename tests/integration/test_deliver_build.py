"""The delivery build path against the reference messages (tests/fixtures/build_reference,
written by ``tests/build_reference.py``; see there for when and why): same headers except
Date and Message-ID, same text and HTML bytes. Links the reference carried before it was
regenerated still work."""

from __future__ import annotations

import re
from pathlib import Path

from digest.config import load_settings
from digest.runtime import Runtime
from digest.store import claims
from digest.store.subscribers import get_subscriber
from digest.tokens import read_token
from tests.build_reference import NOW, REFERENCE, SECRET, frozen_time, populate, strip_volatile


def _runtime(tmp_path: Path) -> Runtime:
    return Runtime(load_settings(database_url=f"sqlite:///{tmp_path}/ref.db", secret_key=SECRET,
                                 from_address="digest@example.org",
                                 outbox_dir=tmp_path / "outbox"))


def test_reference_is_complete() -> None:
    assert len(list(REFERENCE.glob("*.eml"))) == 8


def test_per_message_build_matches_reference(tmp_path: Path) -> None:
    rt = _runtime(tmp_path)
    try:
        populate(rt.engine)
        due = claims.peek_due(rt.engine, now=NOW)
        assert len(due) == 8
        with frozen_time():
            for claim in due:
                built = rt.delivery.build(claim, lambda: NOW)
                assert built.data is not None
                ref = (REFERENCE / f"{claim.subscriber_id:02d}.eml").read_bytes()
                assert strip_volatile(built.data) == strip_volatile(ref), claim.subscriber_id
    finally:
        rt.close()


def test_tokens_in_reference_still_read() -> None:
    """Links already in inboxes keep working: tokens minted by the old signer read now."""
    text = (REFERENCE / "03.eml").read_bytes().decode("ascii", "replace")
    token = re.search(r"/unsubscribe/([A-Za-z0-9_.-]+)>", text)
    assert token is not None
    payload = read_token(SECRET, "unsubscribe", token.group(1))
    assert payload == {"s": 3, "p": "unsubscribe", "u": "pub0002reference"}


def test_batch_build_matches_reference(tmp_path: Path) -> None:
    """The send path's builder (one store read per claimed batch) makes the same messages."""
    rt = _runtime(tmp_path)
    try:
        populate(rt.engine)
        due = claims.peek_due(rt.engine, now=NOW)
        with frozen_time():
            built = list(rt.delivery.build_batch(due, lambda: NOW))
        assert len(built) == len(due) == 8
        for claim, out in zip(due, built, strict=True):
            assert not isinstance(out, Exception), out
            assert out.data is not None
            ref = (REFERENCE / f"{claim.subscriber_id:02d}.eml").read_bytes()
            assert strip_volatile(out.data) == strip_volatile(ref), claim.subscriber_id
    finally:
        rt.close()


# Reader 3's feedback links as the reference carried them before the short feedback links
# (03.eml of commit b96114c, in the links of the cards for 2611.20002 and 2611.20003): full
# signed tokens, as in every inbox that got a digest before.
OLD_FEEDBACK = (
    (".eJyrVipWsjLWUSpQslJKS01NSUpMzlYCchMLUouAQkZmhoZ6RgYGBkZAweLM9LzEHKBobn5RKpBfCmQWlCaBZ"
     "ItS01KLUvOSU5VqAbTBF8w.aw0tAA.Zo3gOt4RkUJGaeeKsxMoPrPYX68", "2611.20002", "more"),
    (".eJyrVipWsjLWUSpQslJKS01NSUpMzlYCchMLUouAQkZmhoZ6RgYGBkZAweLM9LzEHKBoTmpxMZBfCmQWlCaBZ"
     "ItS01KLUvOSU5VqAbUTF9A.aw0tAA.eav0N56AhcmTPXzfKfVDIVUHMTI", "2611.20002", "less"),
    (".eJwNyUsOgCAUQ9G9vLExfBIH7AawEKMieYSRce921nv6ypDgF-kSpAB7ivkUZuxQktusXZ0xxhPHUVu8qPejYE_OP"
     "hNfpyhQtAz5frTrF80.aw0tAA.bHIGnaVa5HidtQJVFwBSPBzg9OY", "2611.20003", "more"),
)


def test_feedback_links_sent_before_the_short_format_still_record(tmp_path: Path) -> None:
    rt = _runtime(tmp_path)
    try:
        reader = populate(rt.engine)[2]
        for token, paper, signal in OLD_FEEDBACK:
            sub, got_paper, got_signal = rt.subscriptions.record_feedback(token, now=NOW)
            assert (sub.id, got_paper, got_signal) == (reader, paper, signal)
        sub = get_subscriber(rt.engine, subscriber_id=reader)
        assert sub is not None  # the later "less" overrides the "more" for the same paper
        assert (sub.profile.liked, sub.profile.disliked) == (("2611.20003",), ("2611.20002",))
    finally:
        rt.close()

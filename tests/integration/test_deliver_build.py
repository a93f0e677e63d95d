"""The delivery build path against the messages the per-message path made (the reference
in tests/fixtures/build_reference, written by ``tests/build_reference.py`` with the code of
commit 6c492e8): same headers except Date and Message-ID, same text and HTML bytes."""

from __future__ import annotations

import re
from pathlib import Path

from digest.config import load_settings
from digest.runtime import Runtime
from digest.store import claims
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

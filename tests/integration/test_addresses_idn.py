"""Internationalized domains in the store: an address keeps the form it was typed in, one
mailbox is one subscriber whichever form arrives, and a suppression holds for both forms.
(Field case 04; the A-label of "bücher" is "xn--bcher-kva", RFC 3492's IDNA example.)"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from digest.addresses import address_hash, normalize_address
from digest.errors import SuppressedError
from digest.models import SubscriberInput
from digest.store.subscribers import (
    delete_subscriber,
    get_subscriber,
    list_subscribers,
    upsert_subscriber,
)

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def _add(engine: Engine, typed: str) -> tuple[int, bool]:
    data = SubscriberInput(email=normalize_address(typed), interests="ssm")
    return upsert_subscriber(engine, data, now=NOW, status="active", origin="cli")


def test_typed_punycode_stays_as_typed(engine: Engine) -> None:
    sid, created = _add(engine, "lea@xn--bcher-kva.example")
    assert created
    sub = get_subscriber(engine, subscriber_id=sid)
    assert sub is not None and sub.email == "lea@xn--bcher-kva.example"


def test_one_mailbox_is_one_subscriber_in_either_form(engine: Engine) -> None:
    first, created = _add(engine, "lea@bücher.example")
    again, created_again = _add(engine, "lea@xn--bcher-kva.example")
    assert created and not created_again and again == first
    assert [s.email for s in list_subscribers(engine)] == ["lea@bücher.example"]
    found = get_subscriber(engine, email="lea@xn--bcher-kva.example")
    assert found is not None and found.id == first


def test_a_suppression_holds_for_both_forms(engine: Engine) -> None:
    sid, _ = _add(engine, "lea@bücher.example")
    delete_subscriber(engine, sid, now=NOW)  # "forget me": only the hash stays
    assert address_hash("lea@xn--bcher-kva.example") == address_hash("lea@bücher.example")
    with pytest.raises(SuppressedError):
        _add(engine, "lea@xn--bcher-kva.example")

"""VERP bounce addresses: short, RFC 5321-valid, signed, case-blind, and worthless forged."""

from __future__ import annotations

import pytest

from digest.config import load_settings
from digest.errors import ConfigError
from digest.send.verp import BounceRef, Verp

SECRET = "verp-test-secret-0123456789"
verp = Verp("bounces@bounce.example.org", SECRET)


def test_an_address_names_its_row_and_fits_rfc_5321() -> None:
    address = verp.address("delivery", 42)
    local, _, domain = address.rpartition("@")
    assert domain == "bounce.example.org"
    assert local.startswith("bounces+d42-")
    # RFC 5321 §4.5.3.1.1: 64 octets at most, even for the largest id the store can hold.
    longest = verp.address("delivery", 2**63 - 1).rpartition("@")[0]
    assert len(longest) <= 64
    assert all(c.isalnum() or c in "+-" for c in longest)  # dot-atom, no quoting needed
    assert verp.read(address) == BounceRef("delivery", 42)
    assert verp.read(f"<{address}>") == BounceRef("delivery", 42)
    assert verp.read(verp.address("notice", 7)) == BounceRef("notice", 7)


def test_a_relay_that_lowercases_or_uppercases_the_address_changes_nothing() -> None:
    address = verp.address("delivery", 42)
    assert verp.read(address.upper()) == BounceRef("delivery", 42)


@pytest.mark.parametrize("tamper", [
    lambda a: a.replace("+d42-", "+d43-"),  # another row, same MAC
    lambda a: a.replace("+d42-", "+n42-"),  # another kind
    lambda a: a[: a.index("@") - 1] + ("a" if a[a.index("@") - 1] != "a" else "b")
    + a[a.index("@"):],  # one MAC character changed
    lambda a: a.replace("bounce.example.org", "evil.example"),
    lambda a: a.replace("bounces+", "other+"),
    lambda a: "bounces@bounce.example.org",
    lambda a: "",
])
def test_forged_or_altered_addresses_name_nothing(tamper: object) -> None:
    address = verp.address("delivery", 42)
    assert verp.read(tamper(address)) is None  # type: ignore[operator]


def test_another_secret_or_purpose_cannot_mint_addresses() -> None:
    other = Verp("bounces@bounce.example.org", "another-secret")
    assert verp.read(other.address("delivery", 42)) is None


def test_the_setting_rejects_a_base_that_would_break_rfc_5321() -> None:
    assert load_settings(bounce_address="bounces@example.org").bounce_address == \
        "bounces@example.org"
    assert load_settings(bounce_address="").bounce_address is None
    for bad in ("x" * 27 + "@example.org", "no-at-sign", "a b@example.org", "b@ex ample.org"):
        with pytest.raises(ConfigError, match="DIGEST_BOUNCE_ADDRESS"):
            load_settings(bounce_address=bad)

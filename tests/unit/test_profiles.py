"""Subscriber profile validation (files, CLI and CSV share these rules)."""

from __future__ import annotations

from pathlib import Path

import pytest

from digest.app.subscriber_files import load_profile_dir
from digest.profiles import ProfileError, validate_profile

REPO = Path(__file__).resolve().parents[2]


def test_demo_profiles_are_valid_and_varied() -> None:
    files = load_profile_dir(REPO / "subscribers")
    assert len(files) >= 4 and all(f.profile for f in files), [f.error for f in files]
    interests = {f.profile.interests for f in files if f.profile}
    assert len(interests) == len(files)


def test_normalizes_fields() -> None:
    p = validate_profile({"email": "Ada@EXAMPLE.org", "interests": "  state\n space  models ",
                          "weekday": "Wed", "frequency": "DAILY"})
    assert p.email == "Ada@example.org"  # domain lower-cased, local part kept
    assert p.interests == "state space models"
    assert p.weekday == 2 and p.frequency == "daily"


@pytest.mark.parametrize(("data", "field"), [
    ({"email": "not an address", "interests": "x"}, "email"),
    ({"email": "a@example.org\r\nBcc: x@example.org", "interests": "x"}, "email"),
    ({"email": "a@example.org", "interests": ""}, "interests"),
    ({"email": "a@example.org", "interests": "x" * 2001}, "interests"),
    ({"email": "a@example.org", "interests": "x", "frequency": "hourly"}, "frequency"),
    ({"email": "a@example.org", "interests": "x", "timezone": "Mars/Olympus"}, "timezone"),
    ({"email": "a@example.org", "interests": "x", "hour": 24}, "hour"),
    ({"email": "a@example.org", "interests": "x", "weekday": "someday"}, "weekday"),
    ({"email": "a@example.org", "interests": "x", "name": "Eve\nBcc: x"}, "name"),
])
def test_rejects_with_the_field_named(data: dict[str, object], field: str) -> None:
    with pytest.raises(ProfileError, match=f"^{field}:"):
        validate_profile(data)


def test_bad_file_is_reported_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "good.toml").write_text('email = "g@example.org"\ninterests = "graphs"\n')
    (tmp_path / "broken.toml").write_text('email = "unterminated\n')
    (tmp_path / "bad.toml").write_text('email = "b@example.org"\n')
    results = {f.path.name: f for f in load_profile_dir(tmp_path)}
    assert results["good.toml"].profile is not None
    assert results["broken.toml"].profile is None and results["broken.toml"].error
    assert results["bad.toml"].error and "interests" in results["bad.toml"].error

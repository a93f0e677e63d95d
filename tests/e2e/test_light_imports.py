"""Commands import only what they use: the front door and the admin commands never load the
numeric stack (numpy, scikit-learn, the ONNX runtime), the mail renderer (Jinja, MJML), the
web server or the feed parsers. Each command runs in its own interpreter, which reports the
heavy modules present in ``sys.modules`` when it exits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("numpy", "sklearn", "scipy", "onnxruntime", "tokenizers", "jinja2", "mjml", "uvicorn",
         "fastapi", "starlette", "apscheduler", "feedparser", "pylatexenc", "httpx",
         "sqlalchemy", "alembic")
STORE = ["alembic", "sqlalchemy"]  # what a command that opens the database needs

PROBE = """
import atexit, json, sys
atexit.register(lambda: print("HEAVY=" + json.dumps(
    sorted(m for m in {heavy!r} if m in sys.modules)), file=sys.stderr))
sys.argv = ["digest", *{args!r}]
from digest.cli import main
main()
"""


def heavy_imports(tmp_path: Path, *args: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    env["DIGEST_DATABASE_URL"] = f"sqlite:///{tmp_path / 'digest.db'}"
    done = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY, args=args)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    [line] = [ln for ln in done.stderr.splitlines() if ln.startswith("HEAVY=")]
    found: list[str] = json.loads(line.removeprefix("HEAVY="))
    return found


@pytest.mark.parametrize(("args", "needed"), [
    (("--help",), []), (("status",), STORE), (("subscribers", "list"), STORE)])
def test_front_door_and_admin_commands_stay_light(tmp_path: Path, args: tuple[str, ...],
                                                  needed: list[str]) -> None:
    assert heavy_imports(tmp_path, *args) == needed


def test_the_probe_sees_what_a_command_does_import(tmp_path: Path) -> None:
    """The probe itself can fail: with the renderer imported, it reports Jinja."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    script = PROBE.format(heavy=HEAVY, args=("--help",)).replace(
        "main()", "import digest.render.renderer\nmain()")
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env,
                          capture_output=True, text=True, check=False)
    assert '"jinja2"' in done.stderr

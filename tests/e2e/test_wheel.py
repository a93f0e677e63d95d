"""Packaging: the wheel carries the templates and the demo data, so an installed digest (pip,
pipx, a container image) renders email and runs its demo from any folder.

The wheel is built from a copy of the source without network (``--no-build-isolation``) and
installed with ``--no-deps`` into a fresh venv that borrows this environment's dependencies
through a ``.pth`` line; ``digest`` then runs from an empty directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from email import message_from_bytes, policy
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOURCES = ("digest", "templates", "seeds", "subscribers", "pyproject.toml", "README.md")


def build_wheel(tmp: Path) -> Path:
    src = tmp / "src"
    src.mkdir()
    for name in SOURCES:
        item = REPO / name
        if item.is_dir():
            shutil.copytree(item, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(item, src / name)
    out = tmp / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--no-index", "-q", "-w", str(out), str(src)],
                   check=True, capture_output=True, timeout=300)
    [wheel] = out.glob("digest-*.whl")
    return wheel


def test_the_wheel_carries_every_package_templates_and_demo_data(tmp_path: Path) -> None:
    names = set(zipfile.ZipFile(build_wheel(tmp_path)).namelist())
    packages = {str(p.parent.relative_to(REPO)) for p in (REPO / "digest").rglob("*.py")
                if "__pycache__" not in p.parts}
    for package in packages:  # pyproject.toml lists packages by hand: none may be missing
        assert f"{package}/__init__.py" in names, package
    for path in (REPO / "templates").rglob("*.j2"):
        assert f"digest/templates/{path.relative_to(REPO / 'templates')}" in names
    assert {f"digest/templates/web/{p.name}" for p in (REPO / "templates/web").glob("*.html")} <= names
    assert {f"digest/templates/web/static/{p.name}"
            for p in (REPO / "templates/web/static").iterdir()} <= names
    assert "digest/seeds/arxiv_seed.xml" in names
    assert {f"digest/subscribers/{p.name}" for p in (REPO / "subscribers").glob("*.toml")} <= names


def test_an_installed_wheel_runs_the_demo_from_an_empty_directory(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    str(wheel)], check=True, capture_output=True, timeout=300)
    # The dependencies come from this test's own environment (no network here).
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          check=True, capture_output=True, text=True).stdout.strip()
    (Path(site) / "borrowed-deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    empty = tmp_path / "anywhere"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIGEST_", "PYTHON"))}
    result = subprocess.run([str(env_dir / "bin" / "digest"), "run", "--once"], cwd=empty,
                            env=env, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    where = subprocess.run([str(python), "-c", "import digest; print(digest.__file__)"],
                           cwd=empty, env=env, check=True, capture_output=True, text=True)
    assert where.stdout.startswith(str(env_dir))  # the wheel's copy ran, not the checkout
    emails = sorted((empty / "outbox").glob("*.eml"))
    assert len(emails) == len(list((REPO / "subscribers").glob("*.toml")))
    for path in emails:
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        html = message.get_body(preferencelist=("html",))
        assert html is not None and "<table" in html.get_content()  # rendered from MJML

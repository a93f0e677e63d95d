"""Files that ship inside the package: the templates, and the demo's seed feed and profiles.

They live at the top of the repository (``templates/``, ``seeds/``, ``subscribers/``) and
the wheel carries them as ``digest.templates`` etc. (pyproject.toml, ``package-dir``), so
they are found with ``importlib.resources`` wherever digest is installed, never by walking up
from ``digest.__file__``.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def package_dir(package: str) -> Path:
    """The folder of a data package (``digest.templates``...) on disk. Raises RuntimeError
    when digest runs from somewhere without real folders (a zip), which it does not support."""
    found = files(package)
    if not isinstance(found, Path):
        raise RuntimeError(f"{package} is not a folder on disk ({found!r}); install digest "
                           "with pip so its data files are unpacked")
    return found


def templates_dir() -> Path:
    """The email and web templates (``templates/`` in a checkout)."""
    return package_dir("digest.templates")


def demo_feed() -> Path:
    """The offline demo's feed: the 60 seed papers (``seeds/arxiv_seed.xml``)."""
    return package_dir("digest.seeds") / "arxiv_seed.xml"


def demo_subscribers_dir() -> Path:
    """The offline demo's subscriber profiles (``subscribers/*.toml``)."""
    return package_dir("digest.subscribers")

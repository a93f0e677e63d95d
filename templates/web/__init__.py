"""Package data: this folder ships inside the wheel as a subpackage of digest
(pyproject.toml, package-dir)."""

"""The README's "Troubleshooting" table quotes, word for word, the line digest prints for
each of the five mistakes (issue 18): each is made here and its line looked up there."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DIGEST = Path(sys.executable).with_name("digest")
WITHOUT_PSYCOPG = ("import sys; sys.modules['psycopg'] = None; sys.argv[0] = 'digest'; "
                   "from digest.cli import main; main()")


def quoted_lines() -> list[str]:
    text = (REPO / "README.md").read_text()
    section = text.split("## Troubleshooting", 1)[1].split("\n## ", 1)[0]
    return [row.split(" | ")[1].split("`")[1] for row in section.splitlines()
            if row.startswith("| ") and row.count(" | ") >= 2 and "`" in row.split(" | ")[1]]


def run(workdir: Path, *args: str, env: dict[str, str] | None = None,
        python: bool = False) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    clean.update(env or {}, COLUMNS="300")
    argv = [sys.executable, "-c", WITHOUT_PSYCOPG, *args] if python else [str(DIGEST), *args]
    return subprocess.run(argv, cwd=workdir, env=clean, capture_output=True, text=True,
                          timeout=300, check=False)


def test_each_quoted_line_is_what_digest_prints(workdir: Path) -> None:
    quoted = quoted_lines()
    assert len(quoted) == 5
    said: list[tuple[str, int]] = []

    result = run(workdir, "send", env={"DIGEST_MODE": "production"})
    said.append((result.stderr.strip(), result.returncode))

    elsewhere = workdir / "elsewhere"
    elsewhere.mkdir()
    result = run(elsewhere, "status")
    said.append((result.stderr.strip().replace(str(elsewhere.resolve()), "/path/to"),
                 result.returncode))

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run(workdir, "serve", "--port", str(port))
    said.append((result.stderr.strip().replace(f":{port}:", ":8000:"), result.returncode))

    result = run(workdir, "status", python=True,
                 env={"DIGEST_DATABASE_URL": "postgresql+psycopg://digest@127.0.0.1:1/d"})
    said.append((result.stderr.strip(), result.returncode))

    (workdir / "subscribers" / "eve.toml").write_text(
        'email = "eve@example.org"\ninterests = "graphs"\ntimezone = "America/New_Yrok"\n')
    result = run(workdir, "subscribers", "sync", "subscribers")
    said.append((result.stderr.strip(), result.returncode))

    table = (REPO / "README.md").read_text().split("## Troubleshooting", 1)[1]
    for (line, code), quote in zip(said, quoted, strict=True):
        assert line == quote
        assert re.search(rf"`{re.escape(quote)}`[^|]*\| {code} \|", table), (quote, code)

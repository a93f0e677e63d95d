"""One exit-code rule and no tracebacks (issue 18): every command in ``digest --help`` run with
a broken input prints one line on stderr and exits with the README's code — 0 done, 1 some
work failed, 2 usage or configuration, 75 temporary (the database unreachable)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import typer.main

from digest.cli import app as cli_app

REPO = Path(__file__).resolve().parents[2]
DIGEST = Path(sys.executable).with_name("digest")
CORRUPT = {"DIGEST_DATABASE_URL": "sqlite:///corrupt.db"}
BUSY = "BUSY_PORT"  # replaced by a port a test socket listens on


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    code: int
    says: str  # words the one line on stderr holds
    env: dict[str, str] = field(default_factory=dict)


CASES = {
    "run --once, every feed failed": Case(("run", "--once"), 1, "every feed failed",
                                          {"DIGEST_FEEDS": "nofeed.xml"}),
    "run, busy port": Case(("run", "--port", BUSY), 2, "Address already in use"),
    "status, corrupt database": Case(("status",), 1, "damaged", CORRUPT),
    "fetch, missing feed file": Case(("fetch", "--feed", "nofeed.xml"), 1, "every feed failed"),
    "rank, missing feed file": Case(("rank", "--interests", "graphs", "--feed", "nofeed.xml"),
                                    2, "feed file not found"),
    "preview --out a file": Case(("preview", "--out", "README.md"), 2, "is a file"),
    "preview --out unwritable": Case(("preview", "--interests", "graphs", "--out", "/proc/nope"),
                                     2, "/proc/nope"),
    "preview --serve, busy port": Case(("preview", "--serve", "--port", BUSY), 2,
                                       "Address already in use"),
    "send --only nobody": Case(("send", "--only", "nobody@example.org"), 1,
                               "no such subscriber"),
    "send, corrupt database": Case(("send",), 1, "damaged", CORRUPT),
    "inbound, missing file": Case(("inbound", "missing.eml"), 2, "No such file"),
    "serve, busy port": Case(("serve", "--port", BUSY), 2, "Address already in use"),
    "subscribers sync, no folder": Case(("subscribers", "sync", "nodir"), 2, "not a folder"),
    "subscribers add, bad address": Case(("subscribers", "add", "not-an-address",
                                          "--interests", "graphs"), 2, "email"),
    "subscribers list, corrupt database": Case(("subscribers", "list"), 1, "damaged", CORRUPT),
    "subscribers import, missing file": Case(("subscribers", "import", "none.csv"), 2,
                                             "none.csv"),
    "subscribers export, corrupt database": Case(("subscribers", "export"), 1, "damaged",
                                                 CORRUPT),
    "subscribers remove, nobody": Case(("subscribers", "remove", "nobody@example.org"), 1,
                                       "nobody@example.org"),
    "subscribers unsuppress, nobody": Case(("subscribers", "unsuppress", "nobody@example.org"),
                                           1, "nothing to lift"),
    "db upgrade, unreachable server": Case(("db", "upgrade"), 75, "connection",
                                           {"DIGEST_DATABASE_URL":
                                            "postgresql+psycopg://digest@127.0.0.1:1/none"}),
    "db upgrade, missing driver": Case(("db", "upgrade"), 2, "pip install 'digest[postgres]'",
                                       {"DIGEST_DATABASE_URL":
                                        "postgresql+psycopg2://digest@127.0.0.1:1/none"}),
    "db upgrade, corrupt database": Case(("db", "upgrade"), 1, "damaged", CORRUPT),
}


def help_commands() -> set[str]:
    """Every command and subcommand ``digest --help`` lists."""
    group = typer.main.get_command(cli_app)
    found: set[str] = set()
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        subs = getattr(command, "commands", {})
        found.update(f"{name} {sub}" for sub in subs) if subs else found.add(name)
    return found


def test_every_command_has_a_broken_input_case() -> None:
    covered = {" ".join(c.args[:2]) if c.args[0] in ("subscribers", "db") else c.args[0]
               for c in CASES.values()}
    assert help_commands() <= covered, help_commands() - covered


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.mark.parametrize("name", CASES)
def test_a_broken_input_is_one_line_and_the_rule_s_code(name: str, workdir: Path,
                                                        busy_port: int) -> None:
    case = CASES[name]
    (workdir / "corrupt.db").write_bytes(b"this is not a database file " * 200)
    shutil.copy(REPO / "README.md", workdir / "README.md")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    env.update(case.env, COLUMNS="80")
    args = [str(busy_port) if a == BUSY else a for a in case.args]
    result = subprocess.run([str(DIGEST), *args], cwd=workdir, env=env, capture_output=True,
                            text=True, timeout=300, check=False, stdin=subprocess.DEVNULL)
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert case.says in lines[0]
    assert result.returncode == case.code, result.stderr

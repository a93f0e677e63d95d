"""Guards that keep the house honest: imports point down the floors, only the store speaks SQL,
every module says what it owns and stays small, and the README's command table is the CLI.

The floors (DESIGN.md), top to bottom; a module may import its own floor's package and any
floor below it, never above:

    faces   cli, web                    (each other; never the store, never an edge)
    root    runtime, service, plan_helpers, job_children
    app     the use cases
    edges   feeds, store, send, schedule (each only itself below the app floor)
    core    rank, render, compose, editions, links, tokens, addresses, profiles, text
    ground  models, errors, config, config_groups, resources, zones
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import typer.main

from digest.cli import app as cli_app

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "digest"

FLOORS = {
    "faces": {"cli", "web"},
    "root": {"runtime", "service", "plan_helpers", "job_children"},
    "app": {"app"},
    "edges": {"feeds", "store", "send", "schedule"},
    "core": {"rank", "render", "compose", "editions", "links", "tokens", "addresses",
             "profiles", "text"},
    "ground": {"models", "errors", "config", "config_groups", "resources", "zones", "__init__"},
}
ORDER = ["faces", "root", "app", "edges", "core", "ground"]
SQL_MODULES = ("sqlalchemy", "sqlite3", "alembic", "psycopg")


def floor_of(part: str) -> str:
    return next(floor for floor, parts in FLOORS.items() if part in parts)


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)


def imported(path: Path) -> set[str]:
    """Every module name an import statement in ``path`` names (nested imports included)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def top_part(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def test_every_module_has_a_floor() -> None:
    for path in modules():
        assert any(top_part(path) in parts for parts in FLOORS.values()), path


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(REPO)))
def test_imports_point_down_the_floors(path: Path) -> None:
    mine = top_part(path)
    floor = floor_of(mine)
    allowed_below = ORDER[ORDER.index(floor):]
    for name in imported(path):
        if not name.startswith("digest.") or name.count(".") < 1:
            continue
        target = name.split(".")[1]
        if not any(target in parts for parts in FLOORS.values()):
            continue  # an attribute of a package (digest.__version__ and the like)
        target_floor = floor_of(target)
        assert target_floor in allowed_below, f"{path.name} ({floor}) imports {name}"
        if floor == "edges" and target_floor == "edges":
            assert target == mine, f"edge {mine} imports another edge: {name}"
        if floor == "faces":
            assert target_floor != "edges", f"a face imports an edge: {name}"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(REPO)))
def test_only_the_store_speaks_sql(path: Path) -> None:
    if top_part(path) == "store":
        return
    for name in imported(path):
        assert not name.startswith(SQL_MODULES), f"{path.relative_to(REPO)} imports {name}"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_module_says_what_it_owns_and_stays_small(path: Path) -> None:
    source = path.read_text()
    if path.name != "__main__.py":
        assert ast.get_docstring(ast.parse(source)), f"{path.relative_to(REPO)}: no docstring"
    assert source.count("\n") <= 300, f"{path.relative_to(REPO)}: over 300 lines"


def _help_commands() -> set[str]:
    group = typer.main.get_command(cli_app)
    found: set[str] = set()
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        found.add(name)
        for sub in getattr(command, "commands", {}):
            found.add(f"{name} {sub}")
    return found


def _readme_commands() -> set[str]:
    text = (REPO / "README.md").read_text()
    table = text.split("## The `digest` command", 1)[1].split("\n## ", 1)[0]
    groups = {name.split()[0] for name in _help_commands() if " " in name}
    found: set[str] = set()
    for cell in re.findall(r"^\| `digest ([^`]+)` \|", table, re.MULTILINE):
        first, *alternatives = cell.split(r"\|")
        words = first.split()
        found.add(words[0])
        if words[0] in groups:
            found.add(f"{words[0]} {words[1]}")
            found.update(f"{words[0]} {alt.split()[0]}" for alt in alternatives)
    return found


def test_the_readme_lists_exactly_the_commands_digest_help_shows() -> None:
    assert _readme_commands() == _help_commands()

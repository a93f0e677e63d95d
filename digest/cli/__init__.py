"""The ``digest`` command: one Typer app; each command group lives in its own module."""

from __future__ import annotations

import typer

from digest.cli import db, fetch, preview, rank, run, send, subscribers

app = typer.Typer(
    name="digest",
    help="Trending research papers in your inbox, picked for you.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for module in (run, fetch, rank, preview, send, subscribers, db):
    module.register(app)


def main() -> None:
    app()

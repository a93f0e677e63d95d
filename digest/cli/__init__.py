"""The ``digest`` command: one Typer app; each command group lives in its own module."""

from __future__ import annotations

import typer

from digest.cli import db, fetch, inbound, preview, rank, run, send, serve, status, subscribers

app = typer.Typer(
    name="digest",
    help="Trending research papers in your inbox, picked for you.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for module in (run, status, fetch, rank, preview, send, subscribers, inbound, serve, db):
    module.register(app)


def main() -> None:
    app()

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
    """The ``digest`` entry point: whatever escapes a command is one line on stderr, never a
    traceback (exit codes in cli/common.py: a file digest cannot read or write is 1, an
    error digest did not expect is 1 too, and says so)."""
    from digest.cli.common import EXIT_FAILED, say_error

    try:
        app()
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        say_error("error:", f"{exc.strerror or exc}{where}")
        raise SystemExit(EXIT_FAILED) from None
    except Exception as exc:  # the last line of the "never a traceback" rule
        say_error("unexpected error (a bug in digest, please report it):",
                  f"{type(exc).__name__}: {exc}")
        raise SystemExit(EXIT_FAILED) from None

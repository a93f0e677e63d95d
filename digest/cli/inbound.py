"""``digest inbound``: act on an unsubscribe request mailed to the List-Unsubscribe mailto.

Meant for an MTA pipe alias. Exit status follows the MTA convention: 0 when the message was
handled or deliberately ignored (a nonzero status would bounce it back to a possibly forged
sender), 75 (EX_TEMPFAIL) when the database is unavailable, so the MTA retries later.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import typer

from digest.cli.common import EXIT_TEMPFAIL, EXIT_USAGE, console, err_console, runtime, say_error, utcnow
from digest.errors import StoreError, TokenError


def register(app: typer.Typer) -> None:
    """Add the ``inbound`` command."""

    @app.command()
    def inbound(
        message: Path | None = typer.Argument(
            None, help="the mail to read (default: standard input, as an MTA pipe delivers it)"),
    ) -> None:
        """Unsubscribe the reader named by a mailed 'unsubscribe <token>' request."""
        from digest.app.inbound import MAX_BYTES, handle_mail

        try:
            raw = message.read_bytes() if message else sys.stdin.buffer.read(MAX_BYTES + 1)
        except OSError as exc:  # a path given by hand, not an MTA pipe: a usage error
            say_error("cannot read the message:", f"{exc.strerror or exc}: {message}")
            raise typer.Exit(EXIT_USAGE) from None
        with runtime() as rt:
            try:
                sub = asyncio.run(handle_mail(rt.subscriptions, raw, now=utcnow()))
            except TokenError as exc:
                err_console.print(f"ignored: {exc}", highlight=False, markup=False)
                return
            except StoreError as exc:
                # Whatever broke, the MTA should keep the message and retry it later.
                say_error("database error:", f"{exc} (try again later)")
                raise typer.Exit(EXIT_TEMPFAIL) from None
        console.print(f"unsubscribed subscriber #{sub.id}", highlight=False)

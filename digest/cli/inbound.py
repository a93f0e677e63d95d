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

from digest.cli.common import console, err_console, runtime, utcnow
from digest.errors import StoreError, TokenError
from digest.inbound import MAX_BYTES, handle

EX_TEMPFAIL = 75


def register(app: typer.Typer) -> None:
    @app.command()
    def inbound(
        message: Path | None = typer.Argument(
            None, help="the mail to read (default: standard input, as an MTA pipe delivers it)"),
    ) -> None:
        """Unsubscribe the reader named by a mailed 'unsubscribe <token>' request."""
        raw = message.read_bytes() if message else sys.stdin.buffer.read(MAX_BYTES + 1)
        with runtime() as rt:
            try:
                sub = asyncio.run(handle(rt, raw, now=utcnow()))
            except TokenError as exc:
                err_console.print(f"ignored: {exc}", highlight=False)
                return
            except StoreError as exc:
                err_console.print(f"[bold red]error:[/] {exc} (try again later)", highlight=False)
                raise typer.Exit(EX_TEMPFAIL) from None
        console.print(f"unsubscribed subscriber #{sub.id}", highlight=False)

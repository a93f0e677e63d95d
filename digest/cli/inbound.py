"""``digest inbound``: act on one mail that came back — a bounce, a complaint, an
auto-reply — or that a person sent: ``subscribe``, ``help``, ``unsubscribe <token>``.

Meant for an MTA pipe alias. Exit status follows the MTA convention: 0 when the message was
handled or deliberately ignored (a nonzero status would bounce it back to a possibly forged
sender), 75 (EX_TEMPFAIL) when the database is unavailable or a reply could not be sent,
so the MTA retries later.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import typer

from digest.cli.common import (
    EXIT_TEMPFAIL,
    EXIT_USAGE,
    console,
    err_console,
    literal,
    runtime,
    say_error,
    utcnow,
)
from digest.errors import DeliveryError, StoreError


def register(app: typer.Typer) -> None:
    """Add the ``inbound`` command."""

    @app.command()
    def inbound(
        message: Path | None = typer.Argument(
            None, help="the mail to read (default: standard input, as an MTA pipe delivers it)"),
        recipient: list[str] = typer.Option(
            [], "--recipient", envvar="ORIGINAL_RECIPIENT",
            help="the envelope recipient (Postfix's pipe sets $ORIGINAL_RECIPIENT)"),
        sender: str | None = typer.Option(
            None, "--sender", envvar="SENDER",
            help="the envelope sender (Postfix and Exim pipes set $SENDER; empty: <>)"),
    ) -> None:
        """Handle a mail that came back (bounce, complaint, auto-reply) or a mailed request."""
        with runtime() as rt:
            limit = rt.settings.inbound.max_bytes
            try:
                raw = (message.read_bytes() if message
                       else sys.stdin.buffer.read(limit + 1))
            except OSError as exc:  # a path given by hand, not an MTA pipe: a usage error
                say_error("cannot read the message:", f"{exc.strerror or exc}: {message}")
                raise typer.Exit(EXIT_USAGE) from None
            try:
                done = asyncio.run(rt.inbound.handle(raw, now=utcnow(),
                                                     envelope_to=recipient,
                                                     envelope_from=sender))
            except (StoreError, DeliveryError) as exc:
                # Whatever broke, the MTA should keep the message and retry it later.
                say_error("cannot handle it now:", f"{exc} (try again later)")
                raise typer.Exit(EXIT_TEMPFAIL) from None
        if done.kind == "ignored":
            err_console.print(literal(f"ignored: {done.detail}"), highlight=False)
        else:
            console.print(literal(f"{done.kind}: {done.detail}"), highlight=False)

"""``digest preview``: write what a subscriber would get now, sending nothing."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from digest.cli.common import console, runtime
from digest.pipeline import build_preview


def preview_command(
    subscriber: str = typer.Option(None, "--subscriber", help="Preview this subscriber's edition."),
    interests: str = typer.Option(None, "--interests", help="Preview for free-text interests."),
    out: Path = typer.Option(Path("preview"), "--out", help="Where to write .html/.txt/.eml."),
) -> None:
    """Render the current edition without sending it."""
    with runtime() as rt:
        items = build_preview(rt, subscriber_email=subscriber, interests=interests)
    out.mkdir(parents=True, exist_ok=True)
    for sub, rendered, message in items:
        stem = re.sub(r"[^A-Za-z0-9._-]", "_", sub.email)
        (out / f"{stem}.html").write_text(rendered.html, encoding="utf-8")
        (out / f"{stem}.txt").write_text(rendered.text, encoding="utf-8")
        (out / f"{stem}.eml").write_bytes(message.as_bytes())
        console.print(f"{sub.email}: {out / stem}.html, .txt, .eml")


def register(app: typer.Typer) -> None:
    app.command("preview")(preview_command)

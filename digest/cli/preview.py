"""``digest preview``: render what subscribers would get now, write or serve it, send nothing."""

from __future__ import annotations

import webbrowser
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from digest.errors import DigestError
from digest.preview import PreviewItem, preview_stem, serve_preview, spam_score, write_preview
from digest.render import default_templates_dir


def _build(subscriber: str | None, interests: str | None, now: datetime | None) -> list[PreviewItem]:
    from digest.pipeline import build_preview  # lands with the store and ranker

    from digest.config import load_settings

    return build_preview(
        load_settings(), subscriber_email=subscriber, interests=interests,
        now=now or datetime.now(UTC),
    )


def register(app: typer.Typer) -> None:
    """Add the ``preview`` command to the CLI app."""

    @app.command("preview")
    def preview(
        subscriber: Annotated[str | None, typer.Option("--subscriber", help="Email of a subscriber.")] = None,
        interests: Annotated[str | None, typer.Option("--interests", help="Free-text interests.")] = None,
        out: Annotated[Path, typer.Option("--out", help="Directory for .html/.txt/.eml.")] = Path("preview"),
        open_: Annotated[bool, typer.Option("--open", help="Open the HTML in a browser.")] = False,
        serve: Annotated[bool, typer.Option("--serve", help="Serve a live preview page.")] = False,
        port: Annotated[int, typer.Option("--port", help="Port for --serve.")] = 8025,
    ) -> None:
        """Show the edition a subscriber (or made-up interests) would get now. Sends nothing."""
        if subscriber and interests:
            raise typer.BadParameter("give --subscriber or --interests, not both")
        try:
            if serve:
                typer.echo(f"preview on http://127.0.0.1:{port}/ (Ctrl-C to stop)")
                serve_preview(lambda now: _build(subscriber, interests, now),
                              templates_dir=default_templates_dir(), port=port)
                return
            items = _build(subscriber, interests, None)
        except DigestError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
        if not items:
            typer.echo("nothing to preview: no matching subscriber", err=True)
            raise typer.Exit(1)
        first: Path | None = None
        for sub, rendered, message in items:
            paths = write_preview(out, rendered, message, preview_stem(sub))
            first = first or paths[0]
            typer.echo(f"{sub.email}: {rendered.subject}")
            for path in paths:
                typer.echo(f"  {path}")
            report = spam_score(message.as_bytes())
            if report is not None:
                typer.echo(f"  spamassassin score {report.score} ({', '.join(report.tests) or 'no tests'})")
        if open_ and first is not None:
            webbrowser.open(first.resolve().as_uri())

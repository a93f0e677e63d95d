"""``digest preview``: what subscribers would get now (or free-text interests would), written
as .html/.txt/.eml or served as a live page. Sends nothing."""

from __future__ import annotations

import webbrowser
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from digest.cli.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    console,
    err_console,
    literal,
    refuse_busy_port,
    runtime,
    say_error,
    utcnow,
)

if TYPE_CHECKING:
    from digest.app.preview import PreviewItem
    from digest.app.rankers import Pool


def preview_command(
    subscriber: str = typer.Option(None, "--subscriber", help="Preview this subscriber's edition."),
    interests: str = typer.Option(None, "--interests", help="Preview for free-text interests."),
    out: Path = typer.Option(Path("preview"), "--out", help="Where to write .html/.txt/.eml."),
    open_: bool = typer.Option(False, "--open", help="Open the (first) HTML in a browser."),
    serve: bool = typer.Option(False, "--serve", help="Serve a live preview page instead."),
    port: int = typer.Option(8025, "--port", help="Port for --serve (localhost only)."),
) -> None:
    """Render the current edition without sending it."""
    from digest.app.preview import preview_stem, spam_score, write_preview

    if subscriber and interests:
        err_console.print("give --subscriber or --interests, not both")
        raise typer.Exit(EXIT_USAGE)
    from digest.rank.interests import has_topic  # not at import: `digest --help` stays light

    if interests is not None and not has_topic(interests):
        say_error("cannot preview:", "--interests has nothing to rank by: write a few words "
                  "about what you read (or an arXiv link)")
        raise typer.Exit(EXIT_USAGE)
    if not serve and out.exists() and not out.is_dir():
        say_error("cannot write the preview:", f"--out {out} is a file, not a folder")
        raise typer.Exit(EXIT_USAGE)
    with runtime(ready=True) as rt:

        def build(now: datetime | None) -> list[PreviewItem]:  # a page request's "as of"
            return rt.previews.build(subscriber_email=subscriber, interests=interests,
                                     now=now or utcnow(), on_pool=say_pool)

        def say_pool(pool: Pool) -> None:
            if pool.capped:
                err_console.print(
                    f"ranked against the {len(pool.papers):,} most recent of {pool.total:,} "
                    "candidate papers (DIGEST_RANK_POOL_MAX)", highlight=False)

        if serve:
            from digest.web.preview_page import serve_preview

            refuse_busy_port("127.0.0.1", port)
            console.print(f"preview on http://127.0.0.1:{port}/ (Ctrl-C to stop); sends nothing")
            serve_preview(build, templates_dir=rt.renderer.templates_dir, port=port)
            return
        items = build(None)
    if not items:
        err_console.print("nothing to preview: no such subscriber" if subscriber else "no subscribers")
        raise typer.Exit(EXIT_FAILED)
    first: Path | None = None
    for sub, rendered, message in items:
        try:
            paths = write_preview(out, rendered, message, preview_stem(sub))
        except OSError as exc:
            say_error("cannot write the preview:", f"--out {out}: {exc.strerror or exc}")
            raise typer.Exit(EXIT_USAGE) from None
        first = first or paths[0]
        console.print(literal(f"{sub.email}: {rendered.subject}"), highlight=False)
        console.print("  ", literal(", ".join(str(p) for p in paths)), sep="", highlight=False)
        report = spam_score(message.as_bytes())
        if report is not None:
            console.print("  ", literal(f"spamassassin score {report.score} "
                                        f"({', '.join(report.tests)})"), sep="", highlight=False)
    if open_ and first is not None:
        webbrowser.open(first.resolve().as_uri())


def register(app: typer.Typer) -> None:
    """Add the ``preview`` command."""
    app.command("preview")(preview_command)

"""Shared CLI plumbing: building the runtime and turning errors into exit codes.

Exit codes: 0 ok, 1 some work failed, 2 usage or configuration error (one line naming the
setting, never a traceback), 75 (EX_TEMPFAIL) the database is unreachable or locked right
now: try again later.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.text import Text

from digest.errors import ConfigError, DigestError, StoreError
from digest.text import display_line

if TYPE_CHECKING:
    from digest.runtime import Runtime

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_TEMPFAIL = 0, 1, 2, 75


def literal(value: object, *, style: str = "", limit: int | None = None) -> Text:
    """Outside text (a feed's title or error, a server's reply, a subscriber's input, a
    database value) as a Rich ``Text`` that is shown exactly as written: never read as
    markup (``[/]``, ``[link=…]``), with control characters (ANSI escapes, newlines) turned
    into spaces by ``display_line`` so it cannot drive the terminal. None becomes "".
    ``limit`` caps the length (characters) with an ellipsis."""
    return Text(display_line(value, limit=limit), style=style)


def say_error(label: str, text: object) -> None:
    """One line on stderr: ``label`` in red, then ``text`` printed literally (outside text
    such as a server reply or a feed title must never be read as Rich markup)."""
    err_console.print(Text(label, style="bold red") + Text(" ") + literal(text),
                      highlight=False)


def store_exit(exc: StoreError) -> int:
    """The exit code for a store failure: 75 when trying later may help, else 1."""
    return EXIT_TEMPFAIL if exc.temporary else EXIT_FAILED


@contextmanager
def runtime() -> Iterator[Runtime]:
    """Settings → Runtime for one command; DigestErrors become a one-line message and the
    exit code above."""
    # Imported here, not at the top: reading settings costs ~0.2 s that `--help` never needs.
    from digest.config import load_settings
    from digest.runtime import Runtime

    rt: Runtime | None = None
    try:
        rt = Runtime(load_settings())
        yield rt
    except ConfigError as exc:
        say_error("configuration error:", exc)
        raise typer.Exit(EXIT_USAGE) from None
    except StoreError as exc:
        say_error("database error:", exc)
        raise typer.Exit(store_exit(exc)) from None
    except DigestError as exc:
        say_error("error:", exc)
        raise typer.Exit(EXIT_FAILED) from None
    finally:
        if rt is not None:
            rt.close()


def utcnow() -> datetime:
    """The wall clock, as an aware UTC datetime."""
    return datetime.now(UTC)

"""Shared CLI plumbing: building the runtime and turning errors into exit codes.

Exit codes: 0 ok, 1 some work failed, 2 usage or configuration error (one line naming the
setting, never a traceback), 75 (EX_TEMPFAIL) the database is unreachable or locked right
now: try again later.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
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
def runtime(*, ready: bool = False) -> Iterator[Runtime]:
    """Settings → Runtime for one command; DigestErrors become a one-line message and the
    exit code above. ``ready``: the command fetches, plans, sends or serves, so every
    setting that work needs is checked first (``Settings.check_ready``), before any of it."""
    # Imported here, not at the top: reading settings costs ~0.2 s that `--help` never needs.
    from digest.config import load_settings
    from digest.runtime import Runtime

    rt: Runtime | None = None
    try:
        settings = load_settings()
        if ready:
            settings.check_ready()
        rt = Runtime(settings)
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


def port_taken(host: str, port: int) -> str | None:
    """Why nothing can listen on ``host:port`` now (another process has it, the address is
    not this machine's), or None when it is free: checked before a server starts, so a busy
    port is one line and exit 2 rather than the server's own log and exit code."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as exc:
        return f"cannot use address {host!r}: {exc.strerror or exc}"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            return f"cannot listen on {host}:{port}: {exc.strerror or exc}"
    return None


def refuse_busy_port(host: str, port: int) -> None:
    """Exit 2 with one line when ``port_taken`` says ``host:port`` cannot be listened on."""
    problem = port_taken(host, port)
    if problem is not None:
        say_error("cannot serve:", f"{problem} (choose another with --port or "
                                   "DIGEST_WEB__PORT)")
        raise typer.Exit(EXIT_USAGE)


def warn(text: str) -> None:
    """One yellow ``warning:`` line on stderr (``text`` printed literally)."""
    err_console.print(Text("warning:", style="yellow") + Text(" ") + literal(text),
                      highlight=False)


@contextmanager
def progress_bars(*labels: str) -> Iterator[tuple[Callable[[int, int], None], ...]]:
    """Progress bars on stderr (only on a terminal), one per label, in one rich display
    (rich allows one live display at a time); yields their ``on_progress(done, total)``
    hooks in label order; gone when the work ends."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TaskID,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), console=err_console,
                  transient=True, disable=not err_console.is_terminal) as progress:
        def hook(task: TaskID) -> Callable[[int, int], None]:
            return lambda done, total: progress.update(task, completed=done, total=total)

        yield tuple(hook(progress.add_task(label, total=None)) for label in labels)


@contextmanager
def progress_bar(label: str = "ranking subscribers") -> Iterator[Callable[[int, int], None]]:
    """One of :func:`progress_bars` titled ``label`` (``Planner.plan``: subscribers ranked;
    ``digest rank``: papers encoded)."""
    with progress_bars(label) as (hook,):
        yield hook


def plural(count: int, one: str, many: str | None = None) -> str:
    """``1 subscriber``, ``2 subscribers``, ``0 deliveries`` (``many`` when ``-s`` is wrong)."""
    return f"{count:,} {one if count == 1 else (many or one + 's')}"


def utcnow() -> datetime:
    """The wall clock, as an aware UTC datetime."""
    return datetime.now(UTC)

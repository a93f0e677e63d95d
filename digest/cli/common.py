"""Shared CLI plumbing: building the runtime and turning errors into exit codes.

Exit codes: 0 ok, 1 some work failed, 2 usage or configuration error (one line naming
the setting, never a traceback).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import typer
from rich.console import Console

from digest.config import load_settings
from digest.errors import ConfigError, DigestError
from digest.runtime import Runtime

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


@contextmanager
def runtime() -> Iterator[Runtime]:
    """Settings → Runtime for one command; DigestErrors become a one-line message."""
    rt: Runtime | None = None
    try:
        rt = Runtime(load_settings())
        yield rt
    except ConfigError as exc:
        err_console.print(f"[bold red]configuration error:[/] {exc}", highlight=False)
        raise typer.Exit(EXIT_USAGE) from None
    except DigestError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(EXIT_FAILED) from None
    finally:
        if rt is not None:
            rt.close()


def utcnow() -> datetime:
    return datetime.now(UTC)

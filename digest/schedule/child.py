"""The service's numeric jobs (fetch, plan) in a short-lived child process each.

Why: the long-running process (web app, scheduler, send loop) would otherwise import numpy,
scikit-learn, the int8 MiniLM and the feed parsers for its first edition and keep them for
good. bench/service_memory.py on the demo (load 2.5): idle after two editions 359 MB in one
process, 108 MB with job children (the service 96 MB, multiprocessing's resource tracker
13 MB). A child started with ``spawn`` imports only what its job needs, and the operating
system gets every page back when it exits. The price: each run pays the child's start and
imports again (the demo's plan: a few CPU seconds per deliver run).

The child builds its own ``Runtime`` from the parent's settings, runs one use case and sends
the result (or the exception) back through a pipe; the caller sees the same return value or
exception type and text as when the work ran in-process. Ctrl-C reaches the whole process
group: the child starts with SIGINT blocked, then ignores it, and is ended by the parent's
exit, like the daemon thread that waits for it. It is not a daemonic process (those may not
have children), so planning in it can start helper processes on every core
(``digest.plan_helpers``); the parent's exit sends it SIGTERM instead (``_end_children``),
and it exits normally, which ends its own daemonic helpers.
"""

from __future__ import annotations

import atexit
import dataclasses
import logging
import multiprocessing
import pickle
import signal
import threading
import time
import traceback
from collections.abc import Callable
from datetime import datetime, timedelta
from multiprocessing import resource_tracker
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from types import SimpleNamespace
from typing import Any, TypeVar

from digest.errors import DigestError

T = TypeVar("T")

# Loggers set to a level of their own in the parent (apscheduler, ...) keep it in the child;
# alembic's "Context impl SQLiteImpl" lines would repeat at every job (each child opens the
# store once), so the child keeps them for DEBUG.
_LogSetup = tuple[int, str | None, dict[str, int]]


def _log_setup() -> _LogSetup:
    root = logging.getLogger()
    fmt = None
    for handler in root.handlers:
        if handler.formatter is not None:
            fmt = handler.formatter._fmt
            break
    levels = {name: lg.level for name, lg in logging.Logger.manager.loggerDict.items()
              if isinstance(lg, logging.Logger) and lg.level != logging.NOTSET}
    return root.level, fmt, levels


def _apply_log_setup(setup: _LogSetup) -> None:
    level, fmt, levels = setup
    if fmt is not None:
        logging.basicConfig(level=level, format=fmt)
    logging.getLogger().setLevel(level)
    if level > logging.DEBUG:
        logging.getLogger("alembic").setLevel(logging.WARNING)
    for name, named_level in levels.items():
        logging.getLogger(name).setLevel(named_level)


class _Unpicklable(Exception):
    """Stands in for an exception that cannot cross the pipe (see ``_portable``)."""


def _crossing(exc: BaseException) -> tuple[BaseException | None, str, str, bool]:
    """What goes back for ``exc``: itself if it survives a pickle round trip (else None),
    its class name, its text, and whether it is a DigestError (see ``_raised``)."""
    try:
        same: BaseException | None = pickle.loads(pickle.dumps(exc))
    except Exception:
        same = None
    return same, type(exc).__name__, str(exc), isinstance(exc, DigestError)


def _raised(crossed: tuple[BaseException | None, str, str, bool], note: str) -> BaseException:
    """The exception to raise in the parent: the child's own, or one of a class with the same
    name (DigestError as base when it was one), so ``f"{type(e).__name__}: {e}"`` reads
    the same in the job's log line and ``job_runs`` row."""
    same, name, text, digest_error = crossed
    if same is None:
        same = type(name, (DigestError if digest_error else _Unpicklable,), {})(text)
    same.add_note(note)
    return same


class _Ended(BaseException):
    """SIGTERM from the parent's exit: the child stops without an answer (nobody waits)."""


def _end(_signum: int, _frame: object) -> None:
    raise _Ended


def _child_main(conn: Connection, setup: _LogSetup, fn: Callable[..., Any],
                args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent owns Ctrl-C
    # A normal exit, so multiprocessing's own exit handler ends this child's daemonic
    # helpers (planning's), and stores are closed by the work's own ``finally``.
    signal.signal(signal.SIGTERM, _end)
    _apply_log_setup(setup)
    try:
        result = fn(*args, **kwargs)
    except _Ended:
        return
    except BaseException as exc:  # everything goes back to the parent, which decides
        note = "in the job's child process:\n" + "".join(traceback.format_exception(exc))
        conn.send(("error", (_crossing(exc), note)))
    else:
        conn.send(("ok", result))
    finally:
        conn.close()


# Set when the interpreter starts to exit: atexit runs this before multiprocessing's own
# handler (registered earlier, run later), which would wait for the job children.
_exiting = threading.Event()
_live: set[BaseProcess] = set()
# Seconds a job child has to end after SIGTERM before it is killed (closing a store and
# ending planning helpers takes well under a second).
END_GRACE = 5.0


def _end_children() -> None:
    """At the parent's exit: SIGTERM every running job child, then wait for it (killed past
    END_GRACE), so none outlives the service and multiprocessing finds none to wait for."""
    _exiting.set()
    children = list(_live)
    for child in children:
        child.terminate()
    for child in children:
        child.join(END_GRACE)
        if child.exitcode is None:
            child.kill()
            child.join()


atexit.register(_end_children)


def run_in_child(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in a new spawned process; blocks until it is done (call it off
    the event loop). ``fn`` and its arguments must pickle (a module-level function). Returns
    what ``fn`` returned; raises what it raised (its child traceback as a note), or
    RuntimeError when the child died without an answer (killed, out of memory)."""
    ctx = multiprocessing.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child_main, name="digest-job", daemon=False,
                        args=(send, _log_setup(), fn, args, kwargs))
    # SIGINT blocked in this thread while the child is created: the mask is inherited, so
    # a Ctrl-C during the child's start-up (before _child_main ignores it) is never delivered.
    # The resource tracker first: starting it unblocks SIGINT on its way out (3.11).
    resource_tracker.ensure_running()
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        child.start()
        _live.add(child)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    send.close()  # ours closed, so recv() sees EOF if the child dies
    try:
        kind, value = receive.recv()
    except EOFError:
        child.join()
        if _exiting.is_set():  # we ended it (_end_children): as for a daemon thread,
            threading.Event().wait()  # exit does not wait, and nothing is raised
        raise RuntimeError(f"the job's child process ended without an answer "
                           f"(exit code {child.exitcode})") from None
    finally:
        receive.close()
    child.join()
    _live.discard(child)
    if kind == "error":
        raise _raised(*value)
    return value  # type: ignore[no-any-return]


def plain(value: Any) -> Any:
    """Dataclass instances (nested, in lists and tuples) as ``SimpleNamespace`` with the same
    fields. Unpickling a ``PlanReport`` would import ``digest.app.plan`` in the parent, and
    with it the ranker, numpy and scikit-learn (+100 MB, seen in the service's memory maps):
    the whole point of the child. Properties of the original class are not carried."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return SimpleNamespace(**{f.name: plain(getattr(value, f.name))
                                  for f in dataclasses.fields(value)})
    if isinstance(value, list | tuple):
        return type(value)(plain(v) for v in value)
    return value


def started_now(now: datetime, called_at: float) -> datetime:
    """``now`` moved on by the time the child took to start (``called_at``: the caller's
    ``time.monotonic()``; CLOCK_MONOTONIC is one clock for every process on the machine).

    Why: a job's ``now`` is taken when it starts; in-process, the work begins a moment later,
    in a child seconds later (2-10 s measured under load: interpreter, imports, store). A
    plan whose ``now`` is older than papers a concurrent fetch stored meanwhile counts them
    as not yet seen, and the next plan (``digest send``) sends them again as a new edition
    (tests/e2e/test_service_process.py's SIGTERM test caught it). Moving ``now`` by the start
    delay keeps "stored before the work began" older than ``now``, as in-process."""
    return now + timedelta(seconds=max(0.0, time.monotonic() - called_at))

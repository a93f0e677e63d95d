"""Who holds a lease: this process's owner id, and whether a holder on this machine is dead.

An owner id is ``host:pid:rand:space``: the host name, the process id, a random tag (one per
run), and a short token of this boot and PID namespace, so that a process in another
container with the same host name is never mistaken for one of ours. A holder on this
machine whose process is gone cannot renew its leases: its rows may be taken back at once
instead of after the lease (the rows it had in flight may then be sent twice, as after any
crash).
"""

from __future__ import annotations

import functools
import hashlib
import os
import socket
import uuid
from pathlib import Path
from typing import Literal

HolderState = Literal["this-process", "alive", "dead", "elsewhere"]


@functools.cache
def _space() -> str:
    """8 hex digits naming this boot and PID namespace ("-" where the OS does not say)."""
    parts: list[str] = []
    for path in ("/proc/sys/kernel/random/boot_id", "/proc/self/ns/pid"):
        try:
            parts.append(os.readlink(path) if path.endswith("/pid") else
                         Path(path).read_text().strip())
        except OSError:
            return "-"
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:8]


def owner_id() -> str:
    """A new owner id for this process (one per send run)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}:{_space()}"


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # it exists, as another user
    try:  # a zombie answers kill(0) but will never send again
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rpartition(")")[2].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return False


def holder_state(owner: str) -> HolderState:
    """Whether the holder ``owner`` is this process, alive on this machine, dead on this
    machine, or elsewhere (another machine or container, or an id we cannot read: then
    only its lease's end returns its rows)."""
    host, _, rest = owner.partition(":")
    pid_text, _, rest = rest.partition(":")
    _, _, space = rest.partition(":")
    if host != socket.gethostname() or space != _space() or not pid_text.isdigit():
        return "elsewhere"
    pid = int(pid_text)
    if pid == os.getpid():
        return "this-process"
    return "dead" if _process_gone(pid) else "alive"

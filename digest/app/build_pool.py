"""Building messages in worker processes, for big sends.

Rendering, signing and composing are pure-Python CPU work, so threads cannot spread them
over cores (the GIL). The sending process keeps what needs it — the store reads of a claimed
batch (``build_mail.read_jobs``), the SMTP pool, the ledger — and hands the jobs as plain
data to worker processes, a chunk at a time; each worker holds its own ``MessageMaker``
(built once from a picklable ``MakerRecipe``) and sends back wire bytes. Results come back
in claim order, so the senders are fed as each chunk is ready. Whether a subscriber may
still receive a message stays checked right before it is sent (``ledger.refusal``), never
here. Workers are started with ``spawn``: no copy of the parent's threads, sockets or
database connections, the same on every platform.

Measured (bench/deliver.py, 2,000 subscribers, SQLite, 2 shared cores at load ~4.5): the
sending process alone needs 3.2 CPU-s per 2,000 messages with one worker building, against
6.4 CPU-s building in process; the worker's 4.1 CPU-s include its start (~0.5 s) and
cleaning the edition's papers once. A worker pays off when a core is free for it.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from digest.app.build_mail import MailJob, MessageMaker
from digest.app.digest_mail import DigestMail
from digest.config import SmtpSettings
from digest.links import Links
from digest.render import Branding, Renderer
from digest.send.build_ahead import Built
from digest.send.dkim import signer_from_settings
from digest.send.verp import Verp

CHUNK = 25  # jobs per hand-off: ~25-50 ms of work, so a batch spreads over the workers
# The first chunk of a batch is small: the senders wait for it (the next batch is claimed
# when the last one is handed out), so it should come back soon.
FIRST_CHUNK = 5
AUTO_MIN_RUN = 1000  # due messages before "auto" starts workers (DIGEST_SMTP__BUILD_PROCESSES)
AUTO_MAX = 8


def processes_for(setting: int, due: int | None, cores: int | None = None) -> int:
    """How many worker processes a run of ``due`` messages gets: ``setting`` as
    DIGEST_SMTP__BUILD_PROCESSES says (0 none, -1 auto, N exactly N); auto is one per core
    but one, at most ``AUTO_MAX``, and none below ``AUTO_MIN_RUN`` due or on one core."""
    if setting >= 0:
        return setting
    if cores is None:  # the cores this process may run on, not the machine's
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
            os.cpu_count() or 1)
    if due is None or due < AUTO_MIN_RUN:
        return 0
    return max(0, min(AUTO_MAX, cores - 1))


@dataclass(frozen=True, slots=True)
class MakerRecipe:
    """What a worker needs to build the parent's ``MessageMaker``, as picklable data; the
    DKIM signer is rebuilt from the same SMTP settings (a signer is a closure over its key)."""

    templates_dir: Path
    branding: Branding
    links: Links
    from_address: str
    from_name: str
    product_name: str
    verp: Verp | None
    smtp: SmtpSettings | None  # None: no DKIM

    @classmethod
    def of(cls, maker: MessageMaker, smtp: SmtpSettings) -> MakerRecipe:
        """The recipe of ``maker``; ``smtp`` carries its DKIM settings."""
        mail = maker.mail
        return cls(mail.renderer.templates_dir, mail.renderer.branding, mail.links,
                   mail.from_address, mail.from_name, mail.product_name, maker.verp,
                   smtp if maker.dkim is not None else None)

    def maker(self) -> MessageMaker:
        """A new ``MessageMaker`` from the recipe (in a worker: once, at its start). Raises
        ConfigError when the DKIM key cannot be read."""
        renderer = Renderer(self.templates_dir, branding=self.branding)
        mail = DigestMail(renderer, self.links, self.from_address, self.from_name,
                          self.product_name)
        dkim = (signer_from_settings(self.smtp, from_address=self.from_address)
                if self.smtp is not None else None)
        return MessageMaker(mail, dkim, self.verp)


_maker: MessageMaker | None = None  # this worker's, set by _start


def _start(recipe: MakerRecipe) -> None:
    global _maker
    _maker = recipe.maker()


def _portable(exc: Exception) -> Exception:
    """The exception itself if it survives pickling, else a RuntimeError naming it."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


def _make(jobs: Sequence[MailJob], now: datetime) -> list[Built]:
    """Worker side: one chunk's messages (bytes only), an exception for each that fails."""
    assert _maker is not None, "worker started without its recipe"
    out: list[Built] = []
    for job in jobs:
        try:
            out.append(_maker.make(job, now, keep_message=False))
        except Exception as exc:
            out.append(_portable(exc))
    return out


class BuildPool:
    """``processes`` workers building with ``recipe``; ``build(jobs, now)`` yields one
    result per job in order. If the pool breaks (a worker killed), the rest is built here
    with ``local``: a lost worker costs speed, never a message."""

    def __init__(self, recipe: MakerRecipe, processes: int, local: MessageMaker) -> None:
        self.local = local
        self._pool: ProcessPoolExecutor | None = ProcessPoolExecutor(
            processes, mp_context=multiprocessing.get_context("spawn"),
            initializer=_start, initargs=(recipe,))

    def build(self, jobs: Sequence[MailJob], now: datetime) -> Iterator[Built]:
        """One result per job, in order (a message, or the exception that stopped it),
        dated ``now``; every chunk is handed out at once, the results come back as ready."""
        head = list(jobs[:FIRST_CHUNK])
        chunks: list[Sequence[MailJob]] = [head] if head else []
        chunks += [jobs[i:i + CHUNK] for i in range(FIRST_CHUNK, len(jobs), CHUNK)]
        futures: list[Future[list[Built]] | None] = []
        for chunk in chunks:
            futures.append(self._submit(chunk, now))
        for chunk, future in zip(chunks, futures, strict=True):
            results: list[Built] | None = None
            if future is not None:
                try:
                    results = future.result()
                except Exception:  # BrokenProcessPool and kin: build here from now on
                    self._lost()
            if results is None:
                results = [self._local(job, now) for job in chunk]
            yield from results

    def _submit(self, chunk: Sequence[MailJob], now: datetime) -> Future[list[Built]] | None:
        if self._pool is None:
            return None
        try:
            return self._pool.submit(_make, list(chunk), now)
        except Exception:
            self._lost()
            return None

    def _local(self, job: MailJob, now: datetime) -> Built:
        try:
            return self.local.make(job, now)
        except Exception as exc:
            return exc

    def _lost(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        """Stop the workers (waiting for them, so their CPU time is accounted)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

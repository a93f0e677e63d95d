"""Use case: fetch the configured feeds (files or http), parse them and store the papers.

One feed's failure is a FeedResult with status ``error``, never an exception: the others
proceed. An unchanged body (304, or the same bytes as last time) costs no parsing.

Only new work is stored as new: an arXiv replacement (``replace``, ``replace-cross``, or an
API version above 1; see ``feeds.arxiv``) of a paper the store does not hold is skipped and
counted, unless revisions are included; one the store holds refreshes its text and keeps
its age. Each result says what was done: kept, skipped as replacements, repaired, limits.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from digest.errors import DigestError, FeedError, StoreError
from digest.feeds.fetch import (
    MAX_BYTES,
    Download,
    HttpClient,
    RetryPolicy,
    get_feed,
    is_remote,
    open_client,
)
from digest.feeds.parse import ParsedFeed, parse_feed
from digest.feeds.spec import FeedSpec, parse_feed_specs
from digest.models import REVISIONS, Paper
from digest.store import Engine
from digest.store.feedstate import FeedState, get_feed_state, record_fetch
from digest.store.papers import known_ids, upsert_papers

__all__ = ["FeedResult", "FeedSpec", "Fetcher", "IngestRules", "fetch_feeds"]

# Kinds whose text is the paper's own (arXiv); the others only fill gaps and add signals.
AUTHORITATIVE_KINDS = frozenset({"arxiv", "arxiv-api"})


@dataclass(frozen=True, slots=True)
class FeedResult:
    """How one feed's fetch went: counts of papers, or the one-line reason it failed."""

    spec: FeedSpec
    status: str  # ok, not_modified, error
    entries: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    error: str | None = None
    kind: str = ""
    warning: str | None = None
    skipped: int = 0  # entries that were not papers (no title or no id)
    attempts: int = 0  # HTTP tries used (0 for local files)
    revisions: int = 0  # arXiv replacements of papers never stored as new: not stored
    repaired: int = 0  # papers whose text had mojibake repaired
    notes: tuple[str, ...] = ()  # limits hit, bytes replaced, repairs: one phrase each

    @property
    def kept(self) -> int:
        """Papers this fetch stored or refreshed (the ``entries`` of the document that
        became distinct papers, less the skipped replacements)."""
        return self.entries


@dataclass(frozen=True, slots=True)
class IngestRules:
    """What a fetch keeps: at most ``max_entries`` entries of a document, and arXiv
    replacements of unknown papers only when ``include_revisions``."""

    max_entries: int | None = None
    include_revisions: bool = False


Stage = Callable[[FeedSpec, str], None]


def _http_error(got: Download, spec: FeedSpec) -> str:
    message = f"HTTP {got.code} {got.reason}".rstrip()
    if got.body:  # the arXiv API explains a 400 in an Atom error entry
        parsed = parse_feed(got.body, source=spec.name, kind="auto", url=got.url,
                            content_type=got.content_type)
        if parsed.error and parsed.error.startswith("arXiv API error"):
            message += f": {parsed.error}"
    return message


def _unchanged(spec: FeedSpec, state: FeedState | None, attempts: int) -> FeedResult:
    count = state.last_entries or 0 if state else 0
    return FeedResult(spec, "not_modified", entries=count, unchanged=count, attempts=attempts)


def split_revisions(engine: Engine, papers: list[Paper], *, include: bool
                    ) -> tuple[list[Paper], int]:
    """(papers to store, how many were skipped): an arXiv replacement of a paper the store
    does not hold is not new work (skipped unless ``include``); one it holds is kept, so
    its text is refreshed while its age and the sent-papers exclusion stay."""
    revisions = [p.id for p in papers if p.announce_type in REVISIONS]
    if include or not revisions:
        return papers, 0
    known = known_ids(engine, revisions)
    keep = [p for p in papers if p.announce_type not in REVISIONS or p.id in known]
    return keep, len({p.id for p in papers} - {p.id for p in keep})


async def _fetch_one(engine: Engine, spec: FeedSpec, client: HttpClient, now: datetime,
                     policy: RetryPolicy, on_stage: Stage | None,
                     rules: IngestRules) -> FeedResult:
    def stage(name: str) -> None:
        if on_stage:
            on_stage(spec, name)

    def fail(message: str, *, kind: str = "", attempts: int = 0) -> FeedResult:
        record_fetch(engine, url=spec.url, name=spec.name, now=now, status="error",
                     error=message)
        return FeedResult(spec, "error", error=message, kind=kind, attempts=attempts)

    state = get_feed_state(engine, spec.url)
    stage("fetching")
    try:
        got = await get_feed(client, spec.url, etag=state.etag if state else None,
                             last_modified=state.last_modified if state else None,
                             policy=policy)
    except FeedError as exc:
        return fail(str(exc))
    attempts = got.attempts if is_remote(spec.url) else 0
    if got.status == "http_error":
        return fail(_http_error(got, spec), attempts=attempts)
    if got.status == "not_modified":
        record_fetch(engine, url=spec.url, name=spec.name, now=now, status="not_modified")
        return _unchanged(spec, state, attempts)
    body_hash = hashlib.sha256(got.body).hexdigest()
    if state and state.body_hash == body_hash and state.last_status in ("ok", "not_modified"):
        record_fetch(engine, url=spec.url, name=spec.name, now=now, status="not_modified",
                     etag=got.etag, last_modified=got.last_modified)
        return _unchanged(spec, state, attempts)
    stage("parsing")
    parsed: ParsedFeed = await asyncio.to_thread(
        parse_feed, got.body, source=spec.name, kind=spec.kind, url=got.url,
        content_type=got.content_type, max_entries=rules.max_entries)
    stage("storing")
    try:
        keep, revisions = split_revisions(engine, parsed.papers,
                                          include=rules.include_revisions)
        counts = upsert_papers(engine, keep, now=now,
                               authoritative=parsed.kind in AUTHORITATIVE_KINDS)
    except StoreError as exc:
        return fail(f"the store refused this feed's papers: {exc}", kind=parsed.kind,
                    attempts=attempts)
    status = "error" if parsed.error else "ok"
    distinct = len({p.id for p in keep})
    warning = parsed.warning
    if distinct < len(keep):
        repeats = f"{len(keep) - distinct} repeated entries merged"
        warning = f"{warning}; {repeats}" if warning else repeats
    notes = parsed.fidelity_notes()
    if revisions:
        notes.insert(0, f"{revisions} arXiv replacement{'s' if revisions != 1 else ''} of "
                        "papers never seen as new skipped (DIGEST_INCLUDE_REVISIONS)")
    record_fetch(engine, url=spec.url, name=spec.name, now=now, status=status,
                 error=parsed.error, entries=distinct, etag=got.etag,
                 last_modified=got.last_modified, body_hash=None if parsed.error else body_hash)
    return FeedResult(spec, status, entries=distinct, new=counts.new, updated=counts.updated,
                      unchanged=counts.unchanged, error=parsed.error, kind=parsed.kind,
                      warning=warning, skipped=parsed.skipped, attempts=attempts,
                      revisions=revisions, repaired=parsed.repaired, notes=tuple(notes))


async def fetch_feeds(engine: Engine, specs: Sequence[FeedSpec], *, now: datetime,
                      timeout: float = 20.0, concurrency: int = 4,
                      on_done: Callable[[FeedResult], None] | None = None,
                      on_stage: Stage | None = None,
                      retry: RetryPolicy | None = None,
                      rules: IngestRules = IngestRules()) -> list[FeedResult]:
    """Fetch every feed, at most ``concurrency`` at once; results in the order of ``specs``
    (a URL given twice is fetched once).

    One failing feed is reported in its result and never stops the others; ``on_stage``
    hears "fetching", "parsing", "storing" per feed, ``on_done`` each result.
    """
    policy = retry or RetryPolicy()
    limit = asyncio.Semaphore(max(1, concurrency))
    unique: dict[str, FeedSpec] = {}
    for spec in specs:  # the same URL twice would race on its feeds row
        unique.setdefault(spec.url, spec)
    async with open_client(timeout=timeout, concurrency=concurrency) as client:
        async def run(spec: FeedSpec) -> FeedResult:
            async with limit:
                try:
                    result = await _fetch_one(engine, spec, client, now, policy, on_stage,
                                              rules)
                except DigestError as exc:  # e.g. the store refused a write
                    result = FeedResult(spec, "error", error=str(exc))
                except Exception as exc:
                    result = FeedResult(spec, "error",
                                        error=f"internal error: {type(exc).__name__}: {exc}")
            if on_done:
                on_done(result)
            return result

        return list(await asyncio.gather(*(run(s) for s in unique.values())))


@dataclass(frozen=True, slots=True)
class Fetcher:
    """Fetching as the faces and the scheduler run it: the configured feeds by default."""

    engine: Engine
    feeds: Sequence[str]  # DIGEST_FEEDS entries
    timeout: float = 20.0
    concurrency: int = 4
    max_bytes: int = MAX_BYTES
    rules: IngestRules = IngestRules()

    def specs(self, urls: Sequence[str] | None = None) -> list[FeedSpec]:
        """The feeds to fetch: ``urls`` if given, else the configured ones (ConfigError if
        an entry is malformed)."""
        return parse_feed_specs(urls if urls is not None else self.feeds)

    def fetch(self, *, now: datetime, urls: Sequence[str] | None = None,
              on_done: Callable[[FeedResult], None] | None = None,
              on_stage: Stage | None = None) -> list[FeedResult]:
        """Fetch and store every feed (blocking: runs its own event loop)."""
        return asyncio.run(fetch_feeds(self.engine, self.specs(urls), now=now,
                                       timeout=self.timeout, concurrency=self.concurrency,
                                       on_done=on_done, on_stage=on_stage,
                                       retry=RetryPolicy(max_bytes=self.max_bytes),
                                       rules=self.rules))

"""Fetch configured feeds (files or http), parse them and upsert the papers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import httpx
from sqlalchemy import Engine

from digest import __version__
from digest.errors import FeedError
from digest.feeds.parse import parse_feed
from digest.store.feedstate import get_feed_state, record_fetch
from digest.store.papers import upsert_papers

USER_AGENT = f"digest/{__version__} (+https://github.com/digest; paper digest mailer)"


@dataclass(frozen=True, slots=True)
class FeedSpec:
    name: str
    url: str  # http(s) URL, file:// URL or local path


@dataclass(frozen=True, slots=True)
class FeedResult:
    spec: FeedSpec
    status: str  # ok, not_modified, error
    entries: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    error: str | None = None


def parse_feed_specs(entries: Sequence[str]) -> list[FeedSpec]:
    """Settings entries are ``URL_OR_PATH`` or ``name=URL_OR_PATH``."""
    specs = []
    for entry in entries:
        name, sep, url = entry.partition("=")
        if not sep or "/" in name or ":" in name:
            name, url = Path(urlsplit(entry).path).stem or entry, entry
        specs.append(FeedSpec(name=name.strip(), url=url.strip()))
    return specs


async def _download(spec: FeedSpec, client: httpx.AsyncClient, etag: str | None,
                    last_modified: str | None) -> tuple[bytes | None, dict[str, str]]:
    parts = urlsplit(spec.url)
    if parts.scheme in ("http", "https"):
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            response = await client.get(spec.url, headers=headers)
        except httpx.HTTPError as exc:
            raise FeedError(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code == 304:
            return None, {}
        if response.status_code >= 400:
            raise FeedError(f"HTTP {response.status_code}")
        return response.content, dict(response.headers)
    path = Path(url2pathname(parts.path)) if parts.scheme == "file" else Path(spec.url)
    try:
        return path.read_bytes(), {}
    except OSError as exc:
        raise FeedError(f"cannot read {path}: {exc.strerror}") from exc


async def _fetch_one(engine: Engine, spec: FeedSpec, client: httpx.AsyncClient,
                     now: datetime) -> FeedResult:
    state = get_feed_state(engine, spec.url)
    try:
        data, headers = await _download(
            spec, client, state.etag if state else None, state.last_modified if state else None
        )
    except FeedError as exc:
        record_fetch(engine, url=spec.url, name=spec.name, now=now, status="error", error=str(exc))
        return FeedResult(spec, "error", error=str(exc))
    if data is None:
        record_fetch(engine, url=spec.url, name=spec.name, now=now, status="not_modified")
        return FeedResult(spec, "not_modified")
    parsed = parse_feed(data, source=spec.name)
    counts = upsert_papers(engine, parsed.papers, now=now)
    status = "error" if parsed.error else "ok"
    record_fetch(engine, url=spec.url, name=spec.name, now=now, status=status,
                 error=parsed.error, entries=len(parsed.papers), etag=headers.get("etag"),
                 last_modified=headers.get("last-modified"))
    return FeedResult(spec, status, entries=len(parsed.papers), new=counts.new,
                      updated=counts.updated, unchanged=counts.unchanged, error=parsed.error)


async def fetch_feeds(engine: Engine, specs: Sequence[FeedSpec], *, now: datetime,
                      timeout: float = 20.0, concurrency: int = 4,
                      on_done: Callable[[FeedResult], None] | None = None) -> list[FeedResult]:
    """Fetch every feed; one failing feed is reported and never stops the others."""
    limit = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=True,
                                 headers={"User-Agent": USER_AGENT}) as client:
        async def run(spec: FeedSpec) -> FeedResult:
            async with limit:
                result = await _fetch_one(engine, spec, client, now)
            if on_done:
                on_done(result)
            return result

        return list(await asyncio.gather(*(run(s) for s in specs)))

"""Getting feed bytes: polite HTTP (conditional GET, retries with backoff, Retry-After,
a User-Agent naming digest) and local paths or ``file://`` URLs, which behave alike."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import httpx

from digest import __version__
from digest.errors import FeedError

HttpClient = httpx.AsyncClient  # what open_client returns; callers need not import httpx
USER_AGENT = f"digest/{__version__} (self-hosted paper digest; +https://github.com/digest)"
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_BYTES = 64 * 2**20  # default body limit (DIGEST_FEED_MAX_BYTES)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try one feed. ``sleep`` is injectable so tests never wait for real."""

    attempts: int = 3  # tries in total, for timeouts, connection errors, 429 and 5xx
    backoff: float = 2.0  # seconds before the 2nd try, doubled after each further failure
    max_delay: float = 120.0  # a Retry-After longer than this ends the try for this run
    deadline: float = 180.0  # whole-response limit per try (timeouts are per read)
    max_bytes: int = MAX_BYTES  # a larger body is refused, not buffered
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep)


@dataclass(frozen=True, slots=True)
class Download:
    """What the server (or the file) gave: a body, a 304, or an HTTP error with its body."""

    status: str  # ok, not_modified, http_error
    body: bytes = b""
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    url: str = ""  # after redirects
    code: int = 200
    attempts: int = 1
    reason: str = ""


def is_remote(url: str) -> bool:
    """Whether ``url`` is fetched over http(s) (anything else is a local path)."""
    return urlsplit(url).scheme.lower() in ("http", "https")


def open_client(*, timeout: float, concurrency: int) -> httpx.AsyncClient:
    """The one HTTP client a fetch run shares: ``timeout`` seconds per read, at most
    ``concurrency`` connections, redirects followed (5 at most), digest's User-Agent."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout), follow_redirects=True, max_redirects=5,
        headers={"User-Agent": USER_AGENT},
        limits=httpx.Limits(max_connections=max(1, concurrency)))


async def get_feed(client: httpx.AsyncClient, url: str, *, etag: str | None,
                   last_modified: str | None, policy: RetryPolicy) -> Download:
    """The feed's bytes: a conditional GET for http(s), a file read otherwise (off the loop).

    Raises FeedError when the feed cannot be read (see ``download`` and ``read_local``).
    """
    if not is_remote(url):
        return await asyncio.to_thread(read_local, url, max_bytes=policy.max_bytes)
    return await download(client, url, etag=etag, last_modified=last_modified, policy=policy)


def too_large(max_bytes: int) -> str:
    """The one message for a body over the byte limit (HTTP and files alike)."""
    return (f"feed body is larger than {max_bytes:,} bytes; refused "
            "(raise DIGEST_FEED_MAX_BYTES to accept it)")


def read_local(url: str, *, max_bytes: int | None = None) -> Download:
    """A local path or ``file://`` URL read like a 200 response (refused, like a download,
    when larger than ``max_bytes``)."""
    parts = urlsplit(url)
    path = Path(url2pathname(parts.path)) if parts.scheme.lower() == "file" else Path(url)
    try:
        with path.open("rb") as handle:
            body = handle.read() if max_bytes is None else handle.read(max_bytes + 1)
    except IsADirectoryError as exc:
        raise FeedError(f"{path} is a directory, not a feed file") from exc
    except OSError as exc:
        raise FeedError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if max_bytes is not None and len(body) > max_bytes:
        raise FeedError(too_large(max_bytes))
    return Download("ok", body=body, url=str(path))


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _headers(etag: str | None, last_modified: str | None) -> dict[str, str]:
    headers = {"Accept": "application/atom+xml, application/rss+xml, application/xml;q=0.9, "
                         "application/json;q=0.8, text/xml;q=0.8, */*;q=0.5"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def _delay(policy: RetryPolicy, attempt: int, response: httpx.Response | None) -> float:
    """Seconds to wait before the next try; raises FeedError when the server asks for
    longer than the cap (we come back next run rather than hammer or hang)."""
    if response is not None and response.status_code in (429, 503):
        asked = retry_after_seconds(response.headers.get("retry-after"))
        if asked is not None:
            if asked > policy.max_delay:
                raise FeedError(f"HTTP {response.status_code}: server asks to retry after "
                                f"{asked:.0f}s (over the {policy.max_delay:.0f}s cap)")
            return asked
    return min(policy.backoff * 2.0 ** (attempt - 1), policy.max_delay)


async def _get(client: httpx.AsyncClient, url: str, headers: dict[str, str],
               max_bytes: int) -> tuple[httpx.Response, bytes]:
    async with client.stream("GET", url, headers=headers) as response:
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise FeedError(too_large(max_bytes))
            chunks.append(chunk)
        return response, b"".join(chunks)


async def download(client: httpx.AsyncClient, url: str, *, etag: str | None = None,
                   last_modified: str | None = None,
                   policy: RetryPolicy = RetryPolicy()) -> Download:
    """GET ``url`` conditionally, retrying transient failures; FeedError when it gives up."""
    attempts = max(1, policy.attempts)
    for attempt in range(1, attempts + 1):
        response: httpx.Response | None = None
        try:
            fetched = await asyncio.wait_for(
                _get(client, url, _headers(etag, last_modified), policy.max_bytes),
                policy.deadline)
            # Unpacked from a local: inferred straight into ``response``, wait_for's result
            # would take its declared Optional type and the else branch could not use it.
            response, body = fetched
        except httpx.TimeoutException as exc:
            problem = f"timed out ({type(exc).__name__})"
        except TimeoutError:
            problem = f"timed out (no complete response in {policy.deadline:.0f}s)"
        except httpx.TransportError as exc:
            problem = f"connection failed: {exc or type(exc).__name__}"
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
            raise FeedError(f"cannot fetch {url}: {exc}") from exc
        else:
            code = response.status_code
            if code == 304:
                return Download("not_modified", url=str(response.url), code=304, attempts=attempt)
            if code < 300:
                return Download(
                    "ok", body=body, content_type=response.headers.get("content-type"),
                    etag=response.headers.get("etag"),
                    last_modified=response.headers.get("last-modified"),
                    url=str(response.url), code=code, attempts=attempt,
                )
            problem = f"HTTP {code} {response.reason_phrase}".strip()
            if code not in _RETRY_STATUSES:
                return Download("http_error", body=body, url=str(response.url),
                                content_type=response.headers.get("content-type"), code=code,
                                attempts=attempt, reason=response.reason_phrase)
        if attempt == attempts:
            break
        await policy.sleep(_delay(policy, attempt, response))
    raise FeedError(f"{problem} (after {attempts} tries)")

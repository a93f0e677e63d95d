"""HTTP behaviour of fetch_feeds against a real threaded HTTP server on 127.0.0.1:
200, conditional GET and 304, 429 with Retry-After, 500 then 200, timeouts, redirects,
HTML error pages, and the arXiv API's 400 error feed. Delays are recorded, never slept."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import Engine

from digest.app.fetch import FeedResult, fetch_feeds
from digest.feeds import FeedSpec, RetryPolicy
from tests.feed_files import FEEDS, feed_file

NOW = datetime(2026, 8, 1, 6, 0, tzinfo=UTC)


@dataclass
class Reply:
    status: int = 200
    body: bytes | None = None  # None: the server's sample feed (see the rss fixture)
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/rss+xml"})
    delay: float = 0.0


class Server:
    """Scripted replies per path, consumed in order (the last one repeats)."""

    def __init__(self) -> None:
        self.script: dict[str, list[Reply]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.in_flight = self.max_in_flight = 0
        self.sample = b"no sample feed: this test must request the rss fixture"
        lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append((self.path, dict(self.headers)))
                replies = server.script.get(self.path) or [Reply(404, b"not found", {})]
                reply = replies.pop(0) if len(replies) > 1 else replies[0]
                with lock:
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                if reply.delay:
                    time.sleep(reply.delay)
                with lock:
                    server.in_flight -= 1
                body = server.sample if reply.body is None else reply.body
                try:
                    self.send_response(reply.status)
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if reply.status != 304:
                        self.wfile.write(body)
                except OSError:  # the client gave up (timeout test)
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str, *replies: Reply) -> str:
        self.script[path] = list(replies)
        return self.base + path

    def hits(self, path: str) -> list[dict[str, str]]:
        return [headers for p, headers in self.requests if p == path]


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    thread = threading.Thread(target=srv.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


@pytest.fixture
def rss(server: Server) -> bytes:
    """A real arXiv RSS feed (reference-only input), served by every Reply() without a body;
    resolved here so that only the tests that serve it skip when it is unavailable."""
    server.sample = feed_file("arxiv_rss/rss_cs_ai_2026-04-27_jmamath-distill.xml").read_bytes()
    return server.sample


@pytest.fixture
def delays() -> list[float]:
    return []


def fetch(engine: Engine, delays: list[float], *urls: str, timeout: float = 5.0,
          now: datetime = NOW, attempts: int = 3) -> list[FeedResult]:
    async def record(seconds: float) -> None:
        delays.append(seconds)

    policy = RetryPolicy(attempts=attempts, backoff=0.5, max_delay=30.0, sleep=record)
    specs = [FeedSpec(name=u.rsplit("/", 1)[-1], url=u) for u in urls]
    return asyncio.run(fetch_feeds(engine, specs, now=now, timeout=timeout, retry=policy))


@pytest.mark.usefixtures("rss")
def test_200_then_conditional_get_gets_304(sqlite_engine: Engine, server: Server,
                                           delays: list[float]) -> None:
    headers = {"Content-Type": "application/rss+xml", "ETag": '"v1"',
               "Last-Modified": "Mon, 27 Apr 2026 04:00:00 GMT"}
    url = server.url("/rss/cs.AI", Reply(headers=headers), Reply(304, b"", {"ETag": '"v1"'}))
    first, = fetch(sqlite_engine, delays, url)
    assert (first.status, first.new, first.attempts) == ("ok", 3, 1)
    second, = fetch(sqlite_engine, delays, url, now=NOW + timedelta(hours=1))
    assert (second.status, second.unchanged) == ("not_modified", 3)
    sent = server.hits("/rss/cs.AI")
    assert "digest/" in sent[0]["User-Agent"]
    assert "If-None-Match" not in sent[0]
    assert sent[1]["If-None-Match"] == '"v1"'
    assert sent[1]["If-Modified-Since"] == "Mon, 27 Apr 2026 04:00:00 GMT"
    assert delays == []


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.usefixtures("rss")
def test_429_and_503_honour_retry_after(sqlite_engine: Engine, server: Server,
                                        delays: list[float], status: int) -> None:
    url = server.url("/busy", Reply(status, b"slow down", {"Retry-After": "7"}), Reply())
    result, = fetch(sqlite_engine, delays, url)
    assert (result.status, result.new, result.attempts) == ("ok", 3, 2)
    assert delays == [7.0]


def test_retry_after_over_the_cap_gives_up_for_this_run(sqlite_engine: Engine, server: Server,
                                                        delays: list[float]) -> None:
    url = server.url("/later", Reply(503, b"", {"Retry-After": "3600"}), Reply())
    result, = fetch(sqlite_engine, delays, url)
    assert result.status == "error" and "3600" in (result.error or "")
    assert delays == [] and len(server.hits("/later")) == 1


@pytest.mark.usefixtures("rss")
def test_500_then_200_retries_with_backoff(sqlite_engine: Engine, server: Server,
                                           delays: list[float]) -> None:
    url = server.url("/flaky", Reply(500, b"oops", {}), Reply(502, b"", {}), Reply())
    result, = fetch(sqlite_engine, delays, url)
    assert (result.status, result.attempts) == ("ok", 3)
    assert delays == [0.5, 1.0]


def test_500_forever_is_an_error_after_the_last_try(sqlite_engine: Engine, server: Server,
                                                    delays: list[float]) -> None:
    url = server.url("/down", Reply(500, b"oops", {}))
    result, = fetch(sqlite_engine, delays, url)
    assert result.status == "error" and "HTTP 500" in (result.error or "")
    assert "3 tries" in (result.error or "") and len(server.hits("/down")) == 3


def test_timeout_is_retried_then_reported(sqlite_engine: Engine, server: Server,
                                          delays: list[float]) -> None:
    url = server.url("/slow", Reply(delay=0.6))
    result, = fetch(sqlite_engine, delays, url, timeout=0.2, attempts=2)
    assert result.status == "error" and "timed out" in (result.error or "")
    assert delays == [0.5]


@pytest.mark.usefixtures("rss")
def test_redirect_is_followed(sqlite_engine: Engine, server: Server,
                              delays: list[float]) -> None:
    server.url("/new-home", Reply())
    url = server.url("/old", Reply(301, b"", {"Location": "/new-home"}))
    result, = fetch(sqlite_engine, delays, url)
    assert (result.status, result.new) == ("ok", 3)


@pytest.mark.usefixtures("rss")
def test_html_error_page_with_200_is_a_clear_error(sqlite_engine: Engine, server: Server,
                                                   delays: list[float]) -> None:
    page = b"<!DOCTYPE html><html><body><h1>Maintenance</h1></body></html>"
    url = server.url("/maint", Reply(200, page, {"Content-Type": "text/html"}))
    empty = server.url("/empty", Reply(200, b"", {"Content-Type": "application/rss+xml"}))
    ok = server.url("/fine", Reply())
    maint, blank, fine = fetch(sqlite_engine, delays, url, empty, ok)
    assert maint.status == "error" and "HTML page" in (maint.error or "")
    assert blank.status == "error" and "empty body" in (blank.error or "")
    assert fine.status == "ok"  # the others proceed


def test_404_is_not_retried(sqlite_engine: Engine, server: Server,
                            delays: list[float]) -> None:
    result, = fetch(sqlite_engine, delays, server.base + "/nothing-here")
    assert result.status == "error" and result.error == "HTTP 404 Not Found"
    assert delays == []


def test_arxiv_api_400_error_feed(sqlite_engine: Engine, server: Server,
                                  delays: list[float]) -> None:
    recorded = json.loads((FEEDS / "arxiv_api" / "arxivpy_id_abc_s0_m100_b79c8dcf6bc3.json")
                          .read_text())
    url = server.url("/api/query", Reply(recorded["status_code"], recorded["body"].encode(),
                                         {"Content-Type": "application/atom+xml"}))
    result, = fetch(sqlite_engine, delays, url)
    assert result.status == "error"
    assert result.error == "HTTP 400 Bad Request: arXiv API error: incorrect id format for abc"


def test_oversized_body_and_slow_drip_are_refused(sqlite_engine: Engine, server: Server,
                                                  delays: list[float], rss: bytes) -> None:
    big = server.url("/big", Reply(body=rss * 40))

    async def record(seconds: float) -> None:
        delays.append(seconds)

    policy = RetryPolicy(attempts=1, max_bytes=len(rss) * 10, sleep=record)
    result, = asyncio.run(fetch_feeds(sqlite_engine, [FeedSpec("big", big)], now=NOW,
                                      retry=policy))
    assert result.status == "error" and "larger than" in (result.error or "")
    slow = server.url("/drip", Reply(delay=0.5))
    policy = RetryPolicy(attempts=1, deadline=0.2, sleep=record)
    result, = asyncio.run(fetch_feeds(sqlite_engine, [FeedSpec("drip", slow)], now=NOW,
                                      timeout=5.0, retry=policy))
    assert result.status == "error" and "no complete response" in (result.error or "")


@pytest.mark.usefixtures("rss")
def test_concurrency_is_bounded(sqlite_engine: Engine, server: Server) -> None:
    urls = [server.url(f"/c{i}", Reply(delay=0.15)) for i in range(6)]
    specs = [FeedSpec(f"c{i}", u) for i, u in enumerate(urls)]
    results = asyncio.run(fetch_feeds(sqlite_engine, specs, now=NOW, concurrency=2))
    assert [r.status for r in results] == ["ok"] * 6
    assert [r.spec.name for r in results] == [f"c{i}" for i in range(6)]  # input order
    assert server.max_in_flight <= 2

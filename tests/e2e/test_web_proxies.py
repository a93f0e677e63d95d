"""The client address behind a reverse proxy, and the body limit, over a real uvicorn
(issue 14).

A proxy appends the address it saw to X-Forwarded-For (MDN, "X-Forwarded-For"); whatever
stands left of it is the client's to write. So behind one trusted proxy the client is the
right-most entry, and forging the rest must not escape the per-IP limit. A body sent with
chunked transfer encoding has no Content-Length; the 64 KiB form limit must hold anyway.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from digest.errors import ConfigError
from digest.runtime import Runtime
from tests.web_support import eventually, free_port, make_runtime, serve


def _token(html: str) -> str:
    found = re.search(r'name="form_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


def _rows(rt: Runtime) -> int:
    from sqlalchemy import func, select

    from digest.store.schema import subscribers

    with rt.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(subscribers)).scalar_one())


@pytest.fixture
def proxied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Runtime, str]]:
    # The test client connects from 127.0.0.1: it plays the one trusted proxy.
    port = free_port()
    rt = make_runtime(tmp_path, monkeypatch, port=port, DIGEST_WEB__IP_LIMIT="5",
                      DIGEST_WEB__TRUSTED_PROXIES="127.0.0.1")
    with serve(rt, port) as base:
        yield rt, base
    rt.close()


def test_a_forged_x_forwarded_for_behind_a_trusted_proxy_gets_the_per_ip_limit(
        proxied: tuple[Runtime, str]) -> None:
    rt, base = proxied
    codes = []
    with httpx.Client(base_url=base) as web:
        token = _token(web.get("/").text)
        for i in range(12):
            # The client forges a fresh address each time; the proxy appends the real one.
            forged = f"198.51.100.{i + 1}, 203.0.113.7"
            answer = web.post("/subscribe", headers={"X-Forwarded-For": forged}, data={
                "email": f"p{i}@example.org", "interests": "graphs", "form_token": token})
            codes.append(answer.status_code)
        assert codes == [200] * 5 + [429] * 7
        # Another real client behind the same proxy has its own allowance.
        other = web.post("/subscribe", headers={"X-Forwarded-For": "192.0.2.9"}, data={
            "email": "other@example.org", "interests": "graphs", "form_token": token})
        assert other.status_code == 200
    # Sign-ups are queued and stored off the request path: wait for the six accepted ones.
    eventually(lambda: _rows(rt) >= 6)
    assert _rows(rt) == 6


def test_x_forwarded_for_is_ignored_without_trusted_proxies(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    rt = make_runtime(tmp_path, monkeypatch, port=port, DIGEST_WEB__IP_LIMIT="3")
    with serve(rt, port) as base, httpx.Client(base_url=base) as web:
        token = _token(web.get("/").text)
        codes = [web.post("/subscribe", headers={"X-Forwarded-For": f"198.51.100.{i}"}, data={
            "email": f"q{i}@example.org", "interests": "graphs", "form_token": token}
        ).status_code for i in range(5)]
    rt.close()
    assert codes == [200] * 3 + [429] * 2


def test_trusted_proxies_must_be_addresses_or_networks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="DIGEST_WEB__TRUSTED_PROXIES"):
        make_runtime(tmp_path, monkeypatch, DIGEST_WEB__TRUSTED_PROXIES="10.0.0.0/8,proxy.lan")


def test_a_chunked_one_megabyte_form_gets_413(proxied: tuple[Runtime, str]) -> None:
    rt, base = proxied

    def body() -> Iterator[bytes]:  # no length known up front: sent chunked
        yield b"email=a%40example.org&interests="
        for _ in range(64):
            yield b"a" * 16384

    with httpx.Client(base_url=base) as web:
        answer = web.post("/subscribe", content=body(), headers={
            "Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 413
    assert "larger than any form" in answer.text
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert _rows(rt) == 0

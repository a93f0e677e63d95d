"""Helpers for the web tests: a runtime on a tmp store, a real uvicorn server in a thread,
and link extraction from received emails."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path

import pytest
import uvicorn

from digest.config import load_settings
from digest.runtime import Runtime
from digest.web import create_app
from tests.smtp_sink import free_port

REPO = Path(__file__).resolve().parent.parent
SEED_FEED = REPO / "seeds" / "arxiv_seed.xml"
SECRET = "test-secret-key-for-web-tests"


def make_runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, port: int = 8000,
                 smtp: tuple[str, int] | None = None, **env: str) -> Runtime:
    """Settings from DIGEST_* variables, exactly as the service reads them."""
    monkeypatch.chdir(tmp_path)
    values = {"DIGEST_DATABASE_URL": f"sqlite:///{tmp_path / 'digest.db'}",
              "DIGEST_OUTBOX_DIR": str(tmp_path / "outbox"), "DIGEST_SECRET_KEY": SECRET,
              "DIGEST_BASE_URL": f"http://127.0.0.1:{port}", **env}
    if smtp is not None:
        values["DIGEST_SMTP__HOST"], values["DIGEST_SMTP__PORT"] = smtp[0], str(smtp[1])
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return Runtime(load_settings())


@contextmanager
def serve(rt: Runtime, port: int) -> Iterator[str]:
    """Run the app under a real uvicorn on 127.0.0.1:port; yields the base URL."""
    # As digest serves it (service.py, cli/serve.py): uvicorn's own proxy-header handling
    # off; the app applies DIGEST_WEB__TRUSTED_PROXIES itself.
    config = uvicorn.Config(create_app(rt), host="127.0.0.1", port=port, log_level="warning",
                            lifespan="off", proxy_headers=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        thread.join(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def eventually(predicate: Callable[[], object], timeout: float = 30.0) -> None:
    """Wait until ``predicate()`` is true: work a request queued (a sign-up's confirmation
    mail) is done after the answer, off the request path."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for queued work")
        time.sleep(0.02)


def body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, "no text/plain part"
    return part.get_content()


def find_link(message: EmailMessage, path: str) -> str:
    """The first absolute link to ``/path/<token>`` in the message's plain text."""
    match = re.search(rf"https?://[^\s<>\"]+/{path}/[A-Za-z0-9_.\-]+", body_text(message))
    assert match, f"no /{path}/ link in: {body_text(message)!r}"
    return match.group(0)


def form_token(html: str) -> str:
    match = re.search(r'name="form_token" value="([^"]+)"', html)
    assert match, "subscribe page has no form token"
    return match.group(1)


__all__ = ["SEED_FEED", "eventually", "find_link", "form_token", "free_port", "make_runtime", "serve"]

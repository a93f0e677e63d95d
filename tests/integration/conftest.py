"""Fixtures the web integration tests share: a Runtime on each backend, and a client for its
app. A module that needs other settings defines its own ``rt``, which takes precedence."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from digest.runtime import Runtime
from digest.web import create_app
from tests.web_support import make_runtime


@pytest.fixture
def rt(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    runtime = make_runtime(tmp_path, monkeypatch, DIGEST_DATABASE_URL=db_url)
    yield runtime
    runtime.close()


@pytest.fixture
def web(rt: Runtime) -> TestClient:
    return TestClient(create_app(rt), base_url="http://127.0.0.1:8000")

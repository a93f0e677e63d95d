"""``digest serve`` as a real process: it binds, answers /healthz and the subscribe page."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.web_support import SECRET, free_port


def test_digest_serve_answers(tmp_path: Path) -> None:
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")},
           "DIGEST_MODE": "production", "DIGEST_SECRET_KEY": SECRET,
           "DIGEST_DATABASE_URL": f"sqlite:///{tmp_path / 'd.db'}",
           "DIGEST_BASE_URL": f"http://127.0.0.1:{port}"}
    digest = str(Path(sys.executable).parent / "digest")
    proc = subprocess.Popen([digest, "serve", "--host", "127.0.0.1", "--port", str(port)],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        health = None
        for _ in range(600):  # until it listens (or exits)
            if proc.poll() is not None:
                break
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(0.1)
        assert health is not None, proc.stdout.read() if proc.stdout else ""
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        page = httpx.get(f"http://127.0.0.1:{port}/")
        assert page.status_code == 200 and 'name="form_token"' in page.text
        assert page.headers["content-security-policy"].startswith("default-src 'none'")
        assert "server" not in page.headers
    finally:
        proc.terminate()
        proc.wait(30)
    assert not (tmp_path / ".digest_secret").exists()  # production never invents a secret

"""Benchmark: can a visitor tell a known address from an unknown one by the sign-up answer?

The web app runs under a real uvicorn (lifespan on, so its visitor-request worker runs as in
production) over SQLite in a temp dir. 50 addresses are active subscribers ("known"), 50 are
new ("unknown"); each gets one POST /subscribe, the two kinds alternating (and which goes
first alternating) so that load from elsewhere hits both alike. Twice: with the mail relay
up (an aiosmtpd sink) and down (nothing listens on its port). Reports, per relay mode, the
statuses, whether the bodies are identical once the address itself is blanked, the mean and
median response times of each kind and their ratio (slower mean / faster mean), then one
JSON object on the last line.

    .venv/bin/python bench/enumeration.py [--requests 50]

Before issue 14 a new address cost an SMTP transaction inside the request (73 ms vs 18 ms)
and, with the relay down, answered 503 where an active one answered 200.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _relay(up: bool) -> Iterator[int]:
    port = _free_port()
    if not up:
        yield port  # nothing listens: every connection is refused
        return
    from aiosmtpd.controller import Controller

    class Accept:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            return "250 2.0.0 queued"

    controller = Controller(Accept(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@contextmanager
def _server(workdir: Path, smtp_port: int, known: list[str]) -> Iterator[str]:
    import uvicorn

    from digest.config import load_settings
    from digest.profiles import validate_profile
    from digest.runtime import Runtime
    from digest.store.subscribers import upsert_subscriber
    from digest.web import create_app

    port = _free_port()
    for key in [k for k in os.environ if k.startswith("DIGEST_")]:
        del os.environ[key]
    os.environ.update({
        "DIGEST_DATABASE_URL": f"sqlite:///{workdir / 'digest.db'}",
        "DIGEST_SECRET_KEY": "bench-secret", "DIGEST_BASE_URL": f"http://127.0.0.1:{port}",
        "DIGEST_SMTP__HOST": "127.0.0.1", "DIGEST_SMTP__PORT": str(smtp_port),
        "DIGEST_SMTP__CONNECT_TIMEOUT": "2", "DIGEST_WEB__IP_LIMIT": "1000000"})
    rt = Runtime(load_settings())
    for email in known:
        data = validate_profile({"email": email, "interests": "graph neural networks"})
        upsert_subscriber(rt.engine, data, now=datetime.now(UTC), status="active", origin="cli")
    config = uvicorn.Config(create_app(rt), host="127.0.0.1", port=port, log_level="warning",
                            lifespan="on", proxy_headers=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        thread.join(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
        rt.close()


WARMUP = 5  # untimed pairs (one known, one new address) before the measured ones


def _measure(base: str, known: list[str], unknown: list[str],
             warm: list[str]) -> dict[str, Any]:
    import httpx

    times: dict[str, list[float]] = {"known": [], "unknown": []}
    statuses: dict[str, set[int]] = {"known": set(), "unknown": set()}
    bodies: set[str] = set()
    with httpx.Client(base_url=base, timeout=30) as web:
        page = web.get("/").text
        found = re.search(r'name="form_token" value="([^"]+)"', page)
        assert found, "no form token on the sign-up page"
        token = found.group(1)
        # Untimed warm-up pairs of both kinds: first-use costs (imports, caches, the
        # worker's first pass) once measured ~100 ms on one early request of either kind.
        for email in warm:
            web.post("/subscribe", data={"email": email, "interests": "graphs",
                                         "frequency": "weekly", "form_token": token})
        for i, pair in enumerate(zip(known, unknown, strict=True)):
            order = [("known", pair[0]), ("unknown", pair[1])]
            for kind, email in order if i % 2 else reversed(order):
                start = time.perf_counter()
                answer = web.post("/subscribe", data={"email": email, "interests": "graphs",
                                                      "frequency": "weekly",
                                                      "form_token": token})
                times[kind].append(time.perf_counter() - start)
                statuses[kind].add(answer.status_code)
                bodies.add(answer.text.replace(email, "ADDRESS"))
    means = {k: statistics.fmean(v) * 1000 for k, v in times.items()}
    return {
        "statuses": {k: sorted(v) for k, v in statuses.items()},
        "same_body": len(bodies) == 1,
        "mean_ms": {k: round(v, 2) for k, v in means.items()},
        "median_ms": {k: round(statistics.median(v) * 1000, 2) for k, v in times.items()},
        "ratio": round(max(means.values()) / min(means.values()), 3),
    }


def main() -> None:
    """Run both relay modes and print the figures (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50, help="per kind and relay mode")
    args = parser.parse_args()
    known = [f"known{i}@example.org" for i in range(args.requests)]
    warm_known = [f"warm{i}@example.org" for i in range(WARMUP)]
    results: dict[str, Any] = {"requests_per_kind": args.requests}
    for mode in ("up", "down"):
        unknown = [f"new{i}-{mode}@example.org" for i in range(args.requests)]
        warm = [a for pair in zip(warm_known, [f"warm-new{i}-{mode}@example.org"
                                               for i in range(WARMUP)], strict=True)
                for a in pair]
        with tempfile.TemporaryDirectory() as tmp, _relay(mode == "up") as smtp_port, \
                _server(Path(tmp), smtp_port, known + warm_known) as base:
            result = _measure(base, known, unknown, warm)
        results[f"relay_{mode}"] = result
        print(f"relay {mode}: statuses known {result['statuses']['known']} unknown "
              f"{result['statuses']['unknown']}; same body: {result['same_body']}; mean "
              f"known {result['mean_ms']['known']} ms, unknown {result['mean_ms']['unknown']} "
              f"ms (median {result['median_ms']['known']} / {result['median_ms']['unknown']} "
              f"ms); ratio {result['ratio']}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()

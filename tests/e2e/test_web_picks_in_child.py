"""``digest serve`` ranks its pages' picks in a child process: the subscribe page shows this
week's sample picks from the store, and the serving process never maps numpy (the ranker's
numeric stack, ~250 MB with the encoder) into its memory."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from digest.app.rank import read_feed_files
from digest.store.db import open_store
from digest.store.papers import upsert_papers
from tests.web_support import SECRET, free_port

FEED = Path(__file__).resolve().parents[2] / "bench" / "data" / "arxiv_api_transformer_5.xml"


def _mapped(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


def test_sample_picks_come_from_a_child_and_the_web_process_stays_light(tmp_path: Path) -> None:
    papers = [p for p in read_feed_files([FEED]).papers
              if p.announce_type not in ("replace", "replace-cross")]
    assert papers
    engine = open_store(f"sqlite:///{tmp_path / 'd.db'}")
    upsert_papers(engine, papers, now=datetime.now(UTC) - timedelta(hours=1))
    engine.dispose()
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")},
           "DIGEST_MODE": "production", "DIGEST_SECRET_KEY": SECRET,
           "DIGEST_DATABASE_URL": f"sqlite:///{tmp_path / 'd.db'}",
           "DIGEST_BASE_URL": f"http://127.0.0.1:{port}",
           "XDG_CACHE_HOME": str(tmp_path / "cache")}
    digest = str(Path(sys.executable).parent / "digest")
    proc = subprocess.Popen([digest, "serve", "--host", "127.0.0.1", "--port", str(port)],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        page = ""
        deadline = time.monotonic() + 240  # the child encodes the papers on a loaded machine
        while time.monotonic() < deadline and proc.poll() is None:
            with contextlib.suppress(httpx.TransportError):
                page = httpx.get(f"http://127.0.0.1:{port}/", timeout=30).text
                if 'class="sample"' in page:
                    break
            time.sleep(0.5)
        assert 'class="sample"' in page, page[-2000:] if page else proc.poll()
        shown = [p.title for p in papers if re.sub(r"\s+", " ", p.title)[:40] in page]
        assert shown, "no paper of the store is among the sample picks"
        maps = _mapped(proc.pid)
        assert "/numpy/" not in maps and "/sklearn/" not in maps
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=60)
    assert "Traceback" not in out, out

"""Bounded work end to end: one synthetic arXiv-format feed of 20,000 entries, then
``digest fetch`` and ``digest preview --interests …`` twice, each as its own process (the
commands a person runs), with wall time and peak resident memory per step, and how many
embeddings the store held after each. The second preview must reuse the stored embeddings.

The limits are the settings' defaults unless given (``--max-entries``, ``--pool-max``); the
baseline is what digest did before them: every entry stored and ranked, which the issue saw
run 40 minutes at 2 GB without finishing (not rerun here). Last line: one JSON object.

Run: ``python bench/ingest_bounds.py [--entries 20000] [--max-entries N] [--pool-max N]``
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import synthetic_feed  # the same feed shape as bench/ingest.py

# Runs one digest command in a child and reports its own peak RSS (ru_maxrss, KiB on Linux).
_RUN = """
import resource, sys
from digest.cli import main
sys.argv = ["digest", *sys.argv[1:]]
try:
    main()
except SystemExit as exc:
    code = exc.code or 0
else:
    code = 0
print("PEAK_KIB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
sys.exit(code)
"""


def step(args: list[str], env: dict[str, str], cwd: Path) -> dict[str, object]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _RUN, *args], env=env, cwd=cwd,
                          capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    peak = next((int(line.split()[1]) for line in done.stderr.splitlines()
                 if line.startswith("PEAK_KIB")), 0)
    notes = [line.strip() for line in (done.stdout + done.stderr).splitlines()
             if "ranked against" in line or " feeds: " in line]
    return {"cmd": args[0], "exit": done.returncode, "seconds": round(seconds, 1),
            "peak_mb": round(peak / 1024), "notes": notes[-3:],
            "tail": (done.stdout + done.stderr).strip().splitlines()[-2:]}


def embeddings(db: Path) -> tuple[int, int]:
    with sqlite3.connect(db) as conn:
        total, = conn.execute("SELECT count(*) FROM papers").fetchone()
        done, = conn.execute("SELECT count(*) FROM papers WHERE embedding IS NOT NULL").fetchone()
    return int(total), int(done)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--max-entries", type=int, default=None)
    parser.add_argument("--pool-max", type=int, default=None)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        feed = work / "cs.LG.xml"
        feed.write_bytes(synthetic_feed(opts.entries))
        db = work / "digest.db"
        env = {**os.environ, "DIGEST_DATABASE_URL": f"sqlite:///{db}", "COLUMNS": "160",
               "DIGEST_FEEDS": str(feed)}
        if opts.max_entries:
            env["DIGEST_FEED_MAX_ENTRIES"] = str(opts.max_entries)
        if opts.pool_max:
            env["DIGEST_RANK_POOL_MAX"] = str(opts.pool_max)
        interests = "graph neural networks and diffusion models for causal reasoning"
        steps = []
        for args in (["fetch"], ["preview", "--interests", interests, "--out", "p1"],
                     ["preview", "--interests", interests, "--out", "p2"]):
            result = step(args, env, work)
            result["papers"], result["embedded"] = embeddings(db)
            steps.append(result)
            print(f"{' '.join(args[:1]):8} exit {result['exit']}  {result['seconds']:7.1f} s  "
                  f"peak {result['peak_mb']:5} MB  papers {result['papers']:6}  "
                  f"embedded {result['embedded']:6}  {'; '.join(result['notes'])}")
        fetch, first, second = steps
        figures = {
            "entries": opts.entries,
            "feed_mb": round(feed.stat().st_size / 2**20, 1),
            "max_entries": opts.max_entries or "default",
            "pool_max": opts.pool_max or "default",
            "fetch_s": fetch["seconds"], "fetch_peak_mb": fetch["peak_mb"],
            "papers_stored": fetch["papers"],
            "preview1_s": first["seconds"], "preview1_peak_mb": first["peak_mb"],
            "embedded_after_preview1": first["embedded"],
            "preview2_s": second["seconds"], "preview2_peak_mb": second["peak_mb"],
            "preview2_vs_preview1": round(float(second["seconds"]) / float(first["seconds"]), 3),
            "exits": [s["exit"] for s in steps],
        }
        print(json.dumps(figures))


if __name__ == "__main__":
    main()

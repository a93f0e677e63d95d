"""Benchmark: the deliver stage alone, old path against this one, in the same run.

One weekly edition is planned once (bench/edition.py's world: real papers recombined,
varied subscribers, SQLite); each contender then delivers its own copy of that database to
one local aiosmtpd sink (its own process), in a fresh process of its own:

- old: ``Delivery.deliver`` of commit OLD_COMMIT (store reads and a new token serializer
  per message, one builder thread), run from that commit's code;
- in process: this checkout with DIGEST_SMTP__BUILD_PROCESSES=0;
- workers: this checkout with N build processes (``--workers``).

Figures are messages per CPU-second of every process that built or sent (the build
workers' CPU is counted: they are waited for, so getrusage sees them), and wall seconds.
Last line: one JSON object.

    .venv/bin/python bench/deliver.py [--subscribers 2000] [--workers 1]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.edition import SECRET, build_world, real_papers, subscriber_rows, week  # noqa: E402
from bench.send import start_sink  # noqa: E402

OLD_COMMIT = "6c492e8"  # the last commit before the batch reads, cached signer and workers

DELIVER = r'''
import json, resource, sys, time
from digest.config import load_settings
from digest.runtime import Runtime
url, port, processes, secret = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
smtp = {"host": "127.0.0.1", "port": port, "pool_size": 4, "max_per_connection": 100000,
        "claim_batch": 200}
if processes >= 0:  # the old code has no such setting
    smtp["build_processes"] = processes
rt = Runtime(load_settings(database_url=url, secret_key=secret,
                           from_address="digest@bench.example", smtp=smtp))
def children():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
kids, cpu, wall = children(), time.process_time(), time.perf_counter()
report = rt.delivery.deliver()
cpu, wall, kids = time.process_time() - cpu, time.perf_counter() - wall, children() - kids
print(json.dumps({"sent": report.sent, "cpu_s": round(cpu, 2), "workers_cpu_s": round(kids, 2),
                  "wall_s": round(wall, 2), "msgs_per_cpu_s": round(report.sent / (cpu + kids), 1)}))
'''


def deliver(code: Path, url: str, port: int, processes: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(code)}
    done = subprocess.run([sys.executable, "-c", DELIVER, url, str(port), str(processes), SECRET],
                          env=env, cwd=code, capture_output=True, text=True, check=False)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise SystemExit(f"deliver with {code} failed: {done.stderr[-1500:]}")
    return dict(json.loads(lines[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=2000)
    parser.add_argument("--papers", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=1, help="build processes of the last run")
    args = parser.parse_args()

    from digest.config import load_settings
    from digest.rank.encoder import load_encoder
    from digest.rank.lexical import paper_text
    from digest.runtime import Runtime

    encoder = load_encoder()
    assert encoder is not None, "the shipped encoder is missing"
    rng, now = np.random.default_rng(20), datetime.now(UTC)
    base = real_papers()
    papers, vecs = week(base, encoder.embed([paper_text(p) for p in base]), args.papers, now, rng)
    subs, feedback = subscriber_rows(args.subscribers, base, papers, now, rng)

    port, count, stop, sink = start_sink()
    runs: dict[str, dict[str, Any]] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            build_world(f"sqlite:///{tmp / 'base.db'}", papers, vecs, subs, feedback,
                        encoder.name, now)
            rt = Runtime(load_settings(database_url=f"sqlite:///{tmp / 'base.db'}",
                                       secret_key=SECRET, from_address="digest@bench.example"))
            planned = rt.planner.plan(now=datetime.now(UTC)).planned
            rt.close()
            print(f"{planned} deliveries planned for {args.subscribers} subscribers "
                  f"({args.papers} papers); delivering each copy to one sink:", flush=True)
            old = tmp / "old"
            old.mkdir()
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", OLD_COMMIT, "digest"],
                                     check=True, capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
            for name, code, processes in (("old", old, -1), ("in_process", ROOT, 0),
                                          ("workers", ROOT, args.workers)):
                db = tmp / f"{name}.db"
                shutil.copy(tmp / "base.db", db)
                runs[name] = deliver(code, f"sqlite:///{db}", port, processes)
                r = runs[name]
                print(f"  {name:10}: {r['sent']} sent, wall {r['wall_s']} s, CPU {r['cpu_s']} s "
                      f"+ {r['workers_cpu_s']} s in build workers = {r['msgs_per_cpu_s']} "
                      f"messages per CPU-second (load {os.getloadavg()[0]:.1f})", flush=True)
    finally:
        stop.set()
        sink.join(10)
    ratio = runs["in_process"]["msgs_per_cpu_s"] / runs["old"]["msgs_per_cpu_s"]
    print(f"per CPU-second, this path / old path: {ratio:.2f}x in process, "
          f"{runs['workers']['msgs_per_cpu_s'] / runs['old']['msgs_per_cpu_s']:.2f}x "
          f"with {args.workers} build worker(s)")
    print(json.dumps({"bench": "deliver", "subscribers": args.subscribers, "planned": planned,
                      "old_commit": OLD_COMMIT, "runs": runs, "speedup_cpu": round(ratio, 2),
                      "build_workers": args.workers, "sink_accepted": count.value,
                      "load_avg_1m": round(os.getloadavg()[0], 1)}))


if __name__ == "__main__":
    main()

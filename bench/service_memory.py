"""Benchmark: the memory of the long-running service (``digest run``) on the offline demo.

World: an empty folder, so ``digest run`` is the demo (the seed feed of 60 papers, the four
profiles in ``subscribers/``, the outbox as transport); a free port for the web app and a
10 s deliver interval so the first edition comes within seconds, not after five minutes.
This script samples the resident set (VmRSS from /proc) of the service process plus all its
descendants, summed, every 0.5 s, through these phases:

- ``start``: when the web app first answers (the jobs start at once, so "idle before any
  work" is this moment, not a quiet stretch);
- ``peak``: the largest sum seen until the end of the run;
- ``settled_1``: the mean over the last 5 s of the 20 s after the first edition (four
  messages) is in the outbox; with a deliver run every 10 s, that mean includes a job child
  about half of the time, so ``idle_1`` is the least sum in the last 10 s (between two
  runs) and ``parent_1`` the service process alone;
- ``settled_2``/``idle_2``/``parent_2``: the same after a second edition: ``digest subscribers
  add`` (its own short process, not counted) adds a reader whose first edition the next
  deliver run sends;
- ``after_visit``: ``idle`` again after two visits to the subscribe page (``/``) 10 s apart
  (``parent_after_visit``: the service process alone; ``sample_shown``: the second visit
  showed the sample picks). The old code ranks them in the web process, the new one in a
  short-lived child (``digest.job_children.RankInChild``).

It also reads the service's CPU seconds (user+system of the process and its reaped children,
from /proc/PID/stat) at the end. The same sampling runs twice in one go: ``new`` is this
checkout; ``old`` is the code of BASE_COMMIT (before the light service: every job in the
service process) unpacked by ``git archive`` and put first on PYTHONPATH.

    .venv/bin/python bench/service_memory.py [--old-commit 6c492e8] [--settle 20]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BASE_COMMIT = "6c492e8"
DIGEST = [sys.executable, "-c", "from digest.cli import main; main()"]
DEMO_PEOPLE = 4  # subscribers/*.toml
TICK = 0.5
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            text = Path(f"/proc/{pid}/task/{task}/children").read_text()
            found.extend(int(c) for c in text.split())
    except OSError:
        pass
    return found


def rss_mb(pid: int) -> float:
    """VmRSS of one process in MB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def tree_rss_mb(pid: int) -> float:
    """VmRSS of ``pid`` and every descendant, summed, in MB (shared pages counted twice)."""
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += rss_mb(p)
        todo.extend(_children(p))
    return total


def cpu_seconds(pid: int) -> float:
    """utime+stime+cutime+cstime of ``pid`` (children count once they are reaped)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / CLK_TCK


def outbox_count(where: Path) -> int:
    box = where / "outbox"
    return len([p for p in box.iterdir() if p.is_file()]) if box.is_dir() else 0


class Sampler:
    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[tuple[float, float]] = []
        self.parent: list[float] = []
        self.t0 = time.monotonic()

    def tick(self) -> float:
        rss = tree_rss_mb(self.pid)
        self.samples.append((time.monotonic() - self.t0, rss))
        self.parent.append(rss_mb(self.pid))
        time.sleep(TICK)
        return rss

    def until(self, done: Any, what: str, timeout: float = 240) -> None:
        end = time.monotonic() + timeout
        while not done():
            if time.monotonic() > end:
                raise SystemExit(f"timed out waiting for {what}")
            self.tick()

    def hold(self, seconds: float) -> tuple[float, float, float]:
        """Sample for ``seconds``; the tree's mean over the last 5 s, its least over the last
        10 s (a moment between two deliver runs: no job child alive), and the service
        process's own RSS at the end."""
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            self.tick()
        last = self.samples[-1][0]
        tail = [r for t, r in self.samples if t >= last - 5]
        quiet = min(r for t, r in self.samples if t >= last - 10)
        return round(sum(tail) / len(tail), 1), round(quiet, 1), round(self.parent[-1], 1)


def healthy(port: int, path: str = "/healthz") -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def page_text(port: int, path: str) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as r:
            return str(r.read().decode())
    except OSError:
        return ""


def measure(label: str, pythonpath: str | None, settle: float) -> dict[str, Any]:
    where = Path(tempfile.mkdtemp(prefix=f"svcmem-{label}-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    env["DIGEST_SCHEDULE__DELIVER_INTERVAL"] = "10"
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    log = (where / "service.log").open("w")
    proc = subprocess.Popen([*DIGEST, "run", "--port", str(port)], cwd=where, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    s = Sampler(proc.pid)
    out: dict[str, Any] = {}
    try:
        s.until(lambda: healthy(port), "the web app")
        out["start_mb"] = round(s.samples[-1][1] if s.samples else tree_rss_mb(proc.pid), 1)
        s.until(lambda: outbox_count(where) >= DEMO_PEOPLE, "the first edition")
        out["first_edition_s"] = round(s.samples[-1][0], 1)
        out["settled_1_mb"], out["idle_1_mb"], out["parent_1_mb"] = s.hold(settle)
        subprocess.run([*DIGEST, "subscribers", "add", "newcomer@example.org", "--confirmed",
                        "--frequency", "daily", "--interests",
                        "retrieval augmented generation"],
                       cwd=where, env=env, check=True, capture_output=True)
        s.until(lambda: outbox_count(where) >= DEMO_PEOPLE + 1, "the second edition")
        out["settled_2_mb"], out["idle_2_mb"], out["parent_2_mb"] = s.hold(settle)
        out["peak_mb"] = round(max(r for _, r in s.samples), 1)
        # A visitor on the subscribe page: its sample picks are ranked (in a child process
        # since the service ranks pages' picks there); the second visit must show them.
        healthy(port, "/")
        s.hold(10)
        out["sample_shown"] = 'class="sample"' in page_text(port, "/")
        _, out["after_visit_mb"], out["parent_after_visit_mb"] = s.hold(10)
        out["cpu_s"] = round(cpu_seconds(proc.pid), 1)
    finally:
        proc.send_signal(signal.SIGTERM)
        out["exit"] = proc.wait(timeout=60)
        log.close()
    text = (where / "service.log").read_text()
    out["tolerant_lines"] = text.count("tolerant parsing mode")
    out["job_errors"] = text.count('"ok": false')
    shutil.rmtree(where, ignore_errors=True)
    return out


def old_tree(commit: str) -> str:
    """The code of ``commit`` with its data packages, unpacked into a temp folder."""
    dest = Path(tempfile.mkdtemp(prefix="svcmem-old-"))
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "digest", "templates",
                              "seeds", "subscribers"], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    for data in ("templates", "seeds", "subscribers"):  # pyproject's package-dir mapping
        shutil.move(str(dest / data), str(dest / "digest" / data))
    return str(dest)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old-commit", default=BASE_COMMIT)
    parser.add_argument("--settle", type=float, default=20.0)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    old_path = old_tree(args.old_commit)
    try:
        old = measure("old", old_path, args.settle)
    finally:
        shutil.rmtree(old_path, ignore_errors=True)
    new = measure("new", None, args.settle)
    print(f"load average (1 min) at start: {load:.2f}; RSS = the service and its children, MB")
    print(f"{'':12}{'old ' + args.old_commit:>16}{'new':>10}")
    for key in ("start_mb", "peak_mb", "settled_1_mb", "idle_1_mb", "parent_1_mb",
                "settled_2_mb", "idle_2_mb", "parent_2_mb", "after_visit_mb",
                "parent_after_visit_mb", "sample_shown", "cpu_s",
                "first_edition_s", "tolerant_lines", "job_errors", "exit"):
        print(f"{key:12}{old[key]:>16}{new[key]:>10}")
    ratio = round(new["idle_2_mb"] / old["idle_2_mb"], 2)
    print(f"idle (between deliver runs) after two editions, new/old: {ratio}x")
    print("peak: the service plus its job children (fetch and plan may overlap); cpu_s: the "
          "service and its reaped children, over the whole run")
    print(json.dumps({"benchmark": "service_memory", "load": round(load, 2),
                      "old_commit": args.old_commit, "old": old, "new": new,
                      "idle_ratio": ratio}))


if __name__ == "__main__":
    main()

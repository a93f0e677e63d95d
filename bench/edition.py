"""Benchmark: a whole weekly edition, from "papers stored" to "every message accepted by a
local SMTP sink", through the product's own code (Runtime: Planner, Delivery).

World: PAPERS papers stored with their vectors (texts recombined from bench/data's real
arXiv listing, Hugging Face daily papers and the seed list; each text's vector is the
shipped MiniLM's, nudged per copy so copies are related, not identical), N subscribers with
varied profiles: interests are real paper titles (one, or two as sub-interests), a third
also follow a category or an author, one in ten has liked/disliked papers. The sink (aiosmtpd)
runs in its own process. Stages, each with wall and CPU seconds of this process: plan
(``Planner.plan``: rank everyone, write the ledger; readers' interests were encoded and
stored beforehand, stage "profiles", as a first edition does, so plan times a weekly
edition) and deliver (``Delivery.deliver``: claim, render, sign, send, record). The old
path (``Planner.plan`` of commit 3a47556, one subscriber at a time, run from that commit's
code in a subprocess) plans a smaller N in the same run for the ratio, against the new
path's plan alone (a weekly edition) and its profiles + plan (a first edition). Last line: one JSON object.

    .venv/bin/python bench/edition.py [--subscribers 10000] [--papers 2000] [--old 300]
        [--postgres postgresql+psycopg://root@127.0.0.1:5432/postgres] [--no-deliver]
        [--build-processes -1]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.send import _database, start_sink  # noqa: E402
from digest.app.rank import read_feed_files  # noqa: E402
from digest.models import Paper  # noqa: E402

DATA = ROOT / "bench" / "data"
OLD_COMMIT = "3a47556"
SECRET = "b" * 32


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def children_cpu() -> float:
    """CPU seconds of this process's ended children (planning helpers, once joined)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


@contextmanager
def stage(figures: dict[str, Any], name: str) -> Iterator[None]:
    wall, cpu, kids = time.perf_counter(), time.process_time(), children_cpu()
    yield
    figures[f"{name}_wall_s"] = round(time.perf_counter() - wall, 2)
    figures[f"{name}_cpu_s"] = round(time.process_time() - cpu + children_cpu() - kids, 2)
    print(f"  {name}: wall {figures[f'{name}_wall_s']} s, CPU {figures[f'{name}_cpu_s']} s, "
          f"peak RSS {rss_mb():.0f} MB", flush=True)


def real_papers() -> list[Paper]:
    files = read_feed_files([DATA / "arxiv_api_testing_100.xml",
                             DATA / "hf_daily_papers_2026-06-12.json",
                             DATA / "arxiv_api_transformer_5.xml"])
    seeds = json.loads((DATA / "seed_papers_metadata.json").read_text())
    extra = [Paper(id=f"seed{s['n']}", title=s["title"], abstract=s["title"],
                   authors=tuple(s.get("authors", ())),
                   categories=(s["primary_category"],) if s.get("primary_category") else ())
             for s in seeds]
    return [p for p in files.papers if p.announce_type not in ("replace", "replace-cross")] + extra


def week(base: list[Paper], vectors: np.ndarray, n: int, now: datetime,
         rng: np.random.Generator) -> tuple[list[Paper], dict[str, np.ndarray]]:
    """``n`` papers from the real ones: copy i of paper j keeps its authors and categories,
    takes another paper's abstract after its own, and vectors close to the original's
    (``vectors``: (papers, 2, d) rows of ``embed_papers``, whole text then title)."""
    papers, vecs = [], {}
    for i in range(n):
        j, k = i % len(base), int(rng.integers(0, len(base)))
        p = base[j]
        papers.append(replace(p, id=f"2611.{i:05d}", title=f"{p.title} ({i // len(base) + 1})",
                              abstract=f"{p.abstract} {base[k].abstract[:200]}",
                              published=now - timedelta(hours=int(rng.integers(1, 160))),
                              upvotes=int(rng.zipf(1.8)) % 300, announce_type="new"))
        v = vectors[j, 0] + 0.35 * vectors[k, 0] + 0.02 * rng.normal(size=vectors.shape[2])
        t = vectors[j, 1] + 0.02 * rng.normal(size=vectors.shape[2])
        vecs[papers[-1].id] = np.stack([v / np.linalg.norm(v), t / np.linalg.norm(t)]).astype(np.float32)
    return papers, vecs


def subscriber_rows(n: int, base: list[Paper], papers: list[Paper], now: datetime,
                    rng: np.random.Generator) -> tuple[list[dict[str, Any]], list[tuple[int, str, int]]]:
    rows, feedback = [], []
    cats = sorted({c for p in base for c in p.categories})
    for i in range(n):
        a, b = base[int(rng.integers(0, len(base)))], base[int(rng.integers(0, len(base)))]
        interests = a.title if i % 2 else f"{a.title}; {b.title}"
        row = {"email": f"reader{i}@bench.example", "name": "", "interests": interests,
               "keywords": [], "categories": [], "authors": [], "seed_papers": [],
               "popularity_weight": float(i % 3), "status": "active", "frequency": "weekly",
               "weekday": 0, "hour": 8, "timezone": "UTC", "papers_per_email": 10,
               "quiet_week": "send", "origin": "import", "created_at": now,
               "confirmed_at": now, "hard_bounces": 0}
        if i % 3 == 0:
            row["categories"] = [cats[int(rng.integers(0, len(cats)))]]
        if i % 6 == 0 and a.authors:
            row["authors"] = [a.authors[0]]
        rows.append(row)
        if i % 10 == 0:
            for signal in (1, 1, 1, -1, -1, -1):
                feedback.append((i, papers[int(rng.integers(0, len(papers)))].id, signal))
    return rows, feedback


def build_world(url: str, papers: list[Paper], vecs: dict[str, np.ndarray], subs: list[dict[str, Any]],
                feedback: list[tuple[int, str, int]], model: str, now: datetime) -> None:
    from sqlalchemy import insert, select

    from digest.rank import to_blob
    from digest.store.db import open_store
    from digest.store.embeddings import save_embeddings
    from digest.store.papers import upsert_papers
    from digest.store.schema import feedback as feedback_table
    from digest.store.schema import subscribers

    engine = open_store(url)
    upsert_papers(engine, papers, now=now - timedelta(days=2))
    save_embeddings(engine, {pid: to_blob(v) for pid, v in vecs.items()}, model=model)
    with engine.begin() as conn:
        conn.execute(insert(subscribers), subs)
        ids = [r.id for r in conn.execute(select(subscribers.c.id).order_by(subscribers.c.id))]
        if feedback:
            conn.execute(insert(feedback_table), [
                {"subscriber_id": ids[i], "paper_id": pid, "signal": s, "created_at": now}
                for i, pid, s in feedback])
    engine.dispose()


EXTRA_WORKER = """
import sys
from datetime import UTC, datetime
from digest.config import load_settings
from digest.runtime import Runtime
rt = Runtime(load_settings(database_url=sys.argv[1], secret_key="b" * 32,
                           from_address="digest@bench.example", plan_processes=int(sys.argv[2])))
print(rt.planner.plan(now=datetime.now(UTC)).planned)
rt.close()
"""


def encode_profiles(rt: Any) -> int:
    """Encode and store every reader's interest texts the way a first edition does (the
    planner's own ``ProfileVectors.warm`` over the store, a planning batch at a time), so
    the plan stage times a weekly edition: interests unchanged since the last one."""
    from digest.app.plan import PLAN_BATCH
    from digest.app.profile_store import StoredProfiles
    from digest.rank.corpus import ProfileVectors
    from digest.rank.profile import parse_profile
    from digest.store.subscribers import list_subscribers

    embedder = rt.rankers.embedder
    if embedder is None:
        return 0
    vectors = ProfileVectors(embedder, store=StoredProfiles(rt.engine))
    subs = list_subscribers(rt.engine, status="active")
    seen: set[str] = set()
    for start in range(0, len(subs), PLAN_BATCH):
        texts = [t for s in subs[start:start + PLAN_BATCH]
                 for t in parse_profile(s.profile, []).encoded]
        seen.update(texts)
        vectors.warm(texts)
    return len(seen)


def run_overlapped(rt: Any, figures: dict[str, Any], count: Any, start: float) -> None:
    """Plan and deliver at once (digest.app.overlap); note when the sink took the first one."""
    import asyncio
    import threading

    from digest.app.overlap import plan_and_deliver

    first: list[float] = []

    def watch() -> None:
        while not first and time.perf_counter() - start < 36000:
            if count.value > figures["sink_before"]:
                first.append(time.perf_counter() - start)
            time.sleep(0.05)

    threading.Thread(target=watch, daemon=True).start()
    with stage(figures, "plan_and_deliver"):
        plan, sent = asyncio.run(plan_and_deliver(rt.planner, rt.delivery,
                                                  now=datetime.now(UTC)))
    first.append(-1.0)
    figures["first_message_s"] = round(first[0], 2)
    figures["planned"], figures["sent"] = plan.planned, sent.sent
    figures["msgs_per_s_overall"] = round(sent.sent / figures["plan_and_deliver_wall_s"], 1)


def run_edition(url: str, port: int, n: int, deliver: bool, tmp: Path,
                count: Any = None, overlap: bool = False, workers: int = 1,
                plan_processes: int = 0, build_processes: int = -1) -> dict[str, Any]:
    from digest.config import load_settings
    from digest.runtime import Runtime
    from digest.store.ledger import counts_by_state

    figures: dict[str, Any] = {"subscribers": n}
    settings = load_settings(database_url=url, secret_key=SECRET, from_address="digest@bench.example",
                             outbox_dir=tmp / "outbox", plan_processes=plan_processes,
                             smtp={"host": "127.0.0.1", "port": port, "pool_size": 4,
                                   "max_per_connection": 100000, "claim_batch": 200,
                                   "build_processes": build_processes})
    rt = Runtime(settings)
    ticks: list[float] = []
    start = time.perf_counter()
    if overlap:
        figures["sink_before"] = count.value
        run_overlapped(rt, figures, count, start)
        figures["total_wall_s"] = round(time.perf_counter() - start, 2)
        figures["peak_rss_mb"] = round(rss_mb())
        rt.close()
        return figures
    with stage(figures, "profiles"):
        figures["profile_texts"] = encode_profiles(rt)
    start = time.perf_counter()
    with stage(figures, "plan"):
        # each extra worker runs with the same --plan-processes (its helpers plan for it)
        extra = [subprocess.Popen([sys.executable, "-c", EXTRA_WORKER, url, str(plan_processes)],
                                  cwd=ROOT,
                                  stdout=subprocess.PIPE, text=True) for _ in range(workers - 1)]
        report = rt.planner.plan(now=datetime.now(UTC),
                                 on_progress=lambda d, t: ticks.append(time.perf_counter()))
        others = [int((p.communicate()[0].strip().splitlines() or ["0"])[-1]) for p in extra]
    figures["workers"], figures["planned_by_others"] = workers, sum(others)
    figures["plan_processes"] = plan_processes
    figures["planned_by_helpers"] = report.elsewhere - sum(others)  # any worker's helpers
    figures["first_batch_planned_s"] = round(ticks[1] - start, 2) if len(ticks) > 1 else None
    # Everything due was planned in this run (a fresh world): here, by helpers or by
    # other workers ("already" counts batches a helper finished before this process looked).
    figures["planned"] = report.planned + report.elsewhere + report.already
    figures["quiet_skipped"] = report.skipped_quiet
    figures["nothing_new"], figures["pool"] = report.nothing_new, report.pool
    ranked_here = report.planned + report.skipped_quiet + report.nothing_new
    figures["plan_ms_per_subscriber_cpu"] = round(  # every planning process's CPU
        figures["plan_cpu_s"] / max(ranked_here + report.elsewhere, 1) * 1000, 2)
    if deliver:
        kids = children_cpu()
        with stage(figures, "deliver"):
            sent = rt.delivery.deliver()
        # Worker processes' CPU counts too (stage() adds it to deliver_cpu_s): "per
        # CPU-second" is over every process that built or sent (they are waited for when
        # the run ends, so getrusage sees them).
        figures["deliver_workers_cpu_s"] = round(children_cpu() - kids, 2)
        figures["build_processes"] = build_processes
        all_cpu = figures["deliver_cpu_s"]
        figures["sent"] = sent.sent
        figures["deliver_msgs_per_s"] = round(sent.sent / figures["deliver_wall_s"], 1)
        figures["deliver_msgs_per_cpu_s"] = round(sent.sent / max(all_cpu, 1e-9), 1)
        print(f"  deliver: {figures['deliver_workers_cpu_s']} s CPU in build workers "
              f"(DIGEST_SMTP__BUILD_PROCESSES={build_processes}), "
              f"{figures['deliver_msgs_per_cpu_s']} messages per CPU-second in all", flush=True)
        figures["states"] = counts_by_state(rt.engine)
    figures["total_wall_s"] = round(time.perf_counter() - start, 2)
    figures["peak_rss_mb"] = round(rss_mb())
    rt.close()
    return figures


OLD_PLAN = """
import json, sys, time
from datetime import UTC, datetime
from digest.app.plan import Planner
from digest.app.rankers import Rankers
from digest.rank.encoder import load_encoder
from digest.store.db import create_store_engine
engine = create_store_engine(sys.argv[1])
rankers = Rankers(engine, load_encoder())
wall, cpu = time.perf_counter(), time.process_time()
report = Planner(engine, rankers).plan(now=datetime.now(UTC))
import digest
print(json.dumps({"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu,
                  "code": digest.__file__, "planned": report.planned}))
"""


def old_plan(url: str, tmp: Path) -> dict[str, Any]:
    """Plan with the code of OLD_COMMIT (one subscriber at a time), in its own process."""
    old = tmp / "old"
    old.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", OLD_COMMIT, "digest"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
    env = {**os.environ, "PYTHONPATH": str(old)}
    out = subprocess.run([sys.executable, "-c", OLD_PLAN, url], env=env, cwd=old, check=True,
                         capture_output=True, text=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--papers", type=int, default=2_000)
    parser.add_argument("--old", type=int, default=300,
                        help="subscribers planned by the old path and the new one for the ratio")
    parser.add_argument("--postgres", metavar="URL", help="a PostgreSQL server (throwaway db)")
    parser.add_argument("--no-deliver", action="store_true")
    parser.add_argument("--workers", type=int, default=1,
                        help="planning processes on the database (split on PostgreSQL)")
    parser.add_argument("--plan-processes", type=int, default=0,
                        help="DIGEST_PLAN_PROCESSES for the edition (0: the product's default)")
    parser.add_argument("--build-processes", type=int, default=-1,
                        help="DIGEST_SMTP__BUILD_PROCESSES for the deliver stage (-1 auto)")
    parser.add_argument("--overlap", action="store_true",
                        help="plan and deliver at once (digest.app.overlap.plan_and_deliver)")
    args = parser.parse_args()

    from digest.app.rankers import stored_model
    from digest.rank import embed_papers
    from digest.rank.encoder import load_encoder

    encoder = load_encoder()
    assert encoder is not None, "the shipped encoder is missing"
    rng = np.random.default_rng(20)
    now = datetime.now(UTC)
    base = real_papers()
    cpu = time.process_time()
    base_vectors = np.stack(list(embed_papers(base, encoder).values()))  # the product's rows
    embed_ms = (time.process_time() - cpu) / len(base) * 1000
    papers, vecs = week(base, base_vectors, args.papers, now, rng)
    subs, feedback = subscriber_rows(args.subscribers, base, papers, now, rng)
    backend = "postgresql" if args.postgres else "sqlite"
    print(f"{args.papers} papers from {len(base)} real ones (encoding {embed_ms:.0f} ms CPU per "
          f"paper, once per paper), {args.subscribers} subscribers, {backend}", flush=True)

    port, count, stop, sink = start_sink()
    result: dict[str, Any] = {"bench": "edition", "backend": backend, "papers": args.papers,
                              "embed_ms_per_paper_cpu": round(embed_ms, 1)}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            small = [dict(s) for s in subs[:args.old]]
            small_fb = [f for f in feedback if f[0] < args.old]
            if args.old:
                print(f"old path vs new, {args.old} subscribers, planning only:", flush=True)
                with _database(Path(tmp), args.postgres) as url:
                    # the old code reads one whole-text row per paper, tagged with the bare name
                    whole = {pid: rows[0] for pid, rows in vecs.items()}
                    build_world(url, papers, whole, small, small_fb, encoder.name, now)
                    old = old_plan(url, Path(tmp))
                print(f"  old: wall {old['wall_s']:.1f} s, CPU {old['cpu_s']:.1f} s "
                      f"({old['code']})", flush=True)
                (Path(tmp) / "bench.db").unlink(missing_ok=True)
                with _database(Path(tmp), args.postgres) as url:
                    build_world(url, papers, vecs, small, small_fb, stored_model(encoder), now)
                    new = run_edition(url, port, args.old, False, Path(tmp))
                result["old_path"] = {"subscribers": args.old, "plan_wall_s": round(old["wall_s"], 2),
                                      "plan_cpu_s": round(old["cpu_s"], 2),
                                      "planned": old["planned"]}
                result["new_path_small"] = {"plan_wall_s": new["plan_wall_s"],
                                            "profiles_cpu_s": new["profiles_cpu_s"],
                                            "plan_cpu_s": new["plan_cpu_s"],
                                            "planned": new["planned"]}
                result["plan_speedup_cpu"] = round(old["cpu_s"] / max(new["plan_cpu_s"], 1e-9), 1)
                result["first_edition_speedup_cpu"] = round(
                    old["cpu_s"] / max(new["plan_cpu_s"] + new["profiles_cpu_s"], 1e-9), 1)
                (Path(tmp) / "bench.db").unlink(missing_ok=True)
            print(f"whole edition, {args.subscribers} subscribers:", flush=True)
            with _database(Path(tmp), args.postgres) as url:
                build_world(url, papers, vecs, subs, feedback, stored_model(encoder), now)
                result["edition"] = run_edition(url, port, args.subscribers,
                                                not args.no_deliver, Path(tmp), count,
                                                args.overlap, args.workers,
                                                args.plan_processes, args.build_processes)
        if not args.no_deliver:
            result["edition"]["sink_accepted"] = count.value
    finally:
        stop.set()
        sink.join(10)
    result["load_avg_1m"] = round(os.getloadavg()[0], 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

"""Ranking quality on the product path: nDCG@5/@10 of what ``digest rank --json`` returns,
against plain BM25, plain TF-IDF and the encoder alone, on hand-judged profiles
(bench/data/rank_judgments_*.json).

Each set's feeds are read with the product's parser (``digest.app.rank.read_feed_files``; the
seed set is the product's own ``seeds/arxiv_seed.xml``) and every profile is ranked by invoking
the real ``digest rank --feed ... --interests ... --top 10 --json`` command (in-process through
Typer's runner; one profile per set is also run as a subprocess and must give the same ids).
Figures are reported for all profiles and separately for the worded-unlike ("mismatched"),
sign-up-form and held-out ones. Also: one simulated feedback round, and ms per paper encoded
(batched, against one paper at a time as the naive baseline).

Run: python bench/rank_quality.py [--cache DIR]   (last line: one JSON object with every figure)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from digest.app.rank import rank_papers, read_feed_files
from digest.app.vectors import cached_vectors
from digest.cli import app
from digest.models import Paper, Profile
from digest.rank.lexical import LexicalIndex, paper_text
from digest.rank.semantic import default_embedder, title_text

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data"
SETS = ("seeds", "realdata", "heldout_rss", "mixed_week")
SUBSETS = ("all", "mismatched", "signup", "heldout")
RUNS = ("ranker", "encoder_alone", "bm25", "tfidf")


def find_shared(relative: str) -> Path | None:
    for parent in Path(__file__).resolve().parents:
        candidate = parent / relative
        if candidate.exists():
            return candidate
    return None


def dcg(gains: list[float], k: int) -> float:
    return sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(gains[:k]))


def ndcg(ranked: list[str], judgments: dict[str, int], k: int) -> float:
    ideal = dcg(sorted(judgments.values(), reverse=True), k)
    return dcg([judgments.get(pid, 0) for pid in ranked], k) / ideal if ideal else 0.0


def top_ids(scores: np.ndarray, papers: list[Paper], k: int = 10) -> list[str]:
    return [papers[i].id for i in np.argsort(-scores, kind="stable")[:k]]


def cli_rank(paths: list[Path], text: str, runner: CliRunner) -> list[str]:
    """The ids ``digest rank --json`` prints, best first."""
    args = ["rank", *[a for p in paths for a in ("--feed", str(p))], "--interests", text,
            "--top", "10", "--json"]
    result = runner.invoke(app, args)
    if result.exit_code != 0:
        raise SystemExit(f"digest rank failed ({result.exit_code}): {result.output}")
    return [pick["id"] for pick in json.loads(result.stdout)]


def subprocess_rank(paths: list[Path], text: str) -> list[str]:
    digest = Path(sys.executable).parent / "digest"
    args = [str(digest), "rank", *[a for p in paths for a in ("--feed", str(p))],
            "--interests", text, "--top", "10", "--json"]
    out = subprocess.run(args, capture_output=True, text=True, check=True)
    return [pick["id"] for pick in json.loads(out.stdout)]


def load_set(name: str) -> tuple[list[Path], dict] | None:
    spec = json.loads((DATA / f"rank_judgments_{name}.json").read_text())
    if name == "seeds":
        return [ROOT / "seeds" / "arxiv_seed.xml"], spec
    paths = [DATA / f if not f.startswith("shared/") else find_shared(f) for f in spec["files"]]
    if any(p is None for p in paths):
        print(f"skip {name}: corpus not in ../shared", file=sys.stderr)
        return None
    return [p for p in paths if p is not None], spec


def evaluate(name: str, paths: list[Path], spec: dict, runner: CliRunner) -> dict:
    papers = read_feed_files(paths).papers
    ids = {p.id for p in papers}
    embedder = default_embedder()
    assert embedder is not None, "the int8 MiniLM ships with digest"
    vecs = cached_vectors(papers, embedder)
    matrix = np.vstack([vecs[p.id][0] for p in papers])  # the whole text's row: MiniLM alone
    lexical = LexicalIndex([paper_text(p) for p in papers])
    scores: dict[str, dict[str, list[float]]] = {}
    rows = []
    for prof in spec["profiles"]:
        judg = {k: int(v) for k, v in prof["judgments"].items()}
        missing = [pid for pid in judg if pid not in ids]
        if missing:
            raise SystemExit(f"{name}/{prof['id']}: judged ids not in corpus: {missing}")
        text = prof["interests"]
        lists = {
            "ranker": cli_rank(paths, text, runner),
            "encoder_alone": top_ids(matrix @ embedder.embed([text])[0], papers),
            "bm25": top_ids(lexical.bm25([text])[0], papers),
            "tfidf": top_ids(lexical.tfidf([text])[0], papers),
        }
        tags = [s for s in SUBSETS if s == "all" or prof.get(s)]
        row = {"profile": prof["id"], "tags": tags[1:]}
        for run, ranked in lists.items():
            for k in (5, 10):
                val = ndcg(ranked, judg, k)
                for tag in tags:
                    scores.setdefault(f"{tag}/{run}/ndcg@{k}", []).append(val)
            row[run] = round(ndcg(ranked, judg, 5), 3)
        rows.append(row)
    summary = {key: round(float(np.mean(v)), 4) for key, v in scores.items()}
    counts = {tag: len(scores.get(f"{tag}/ranker/ndcg@5", [])) for tag in SUBSETS}
    first = spec["profiles"][0]["interests"]
    same = subprocess_rank(paths, first) == cli_rank(paths, first, runner)
    return {"papers": len(papers), "counts": counts, "summary": summary, "per_profile": rows,
            "subprocess_matches": same, "feedback": feedback_round(papers, spec)}


def feedback_round(papers: list[Paper], spec: dict) -> dict:
    """The reader likes one grade-3 paper and dislikes the best-ranked irrelevant pick; both
    lists then rank the rest (those two excluded), through the use case ``digest rank`` calls."""
    embedder = default_embedder()
    now = datetime.now(UTC)
    before: dict[int, list[float]] = {5: [], 10: []}
    after: dict[int, list[float]] = {5: [], 10: []}
    for prof in spec["profiles"]:
        judg = {k: int(v) for k, v in prof["judgments"].items()}
        threes = sorted(pid for pid, g in judg.items() if g == 3)
        if len(threes) < 2:
            continue  # nothing left to find after liking the only relevant paper
        liked = threes[0]
        plain = rank_papers(papers, Profile(interests=prof["interests"], disliked=(liked,)),
                            now=now, top=10, embedder=embedder)
        wrong = [p.paper.id for p in plain.picks if judg.get(p.paper.id, 0) == 0][:1]
        rest = {k: v for k, v in judg.items() if k not in {liked, *wrong}}
        skip = (liked, *wrong)
        base = rank_papers([p for p in papers if p.id not in skip],
                           Profile(interests=prof["interests"]), now=now, top=10, embedder=embedder)
        fed = rank_papers(papers, Profile(interests=prof["interests"], liked=(liked,),
                                          disliked=tuple(wrong)), now=now, top=10, embedder=embedder)
        for k in (5, 10):
            before[k].append(ndcg([p.paper.id for p in base.picks], rest, k))
            after[k].append(ndcg([p.paper.id for p in fed.picks], rest, k))
    return {"profiles": len(before[5]),
            **{f"before@{k}": round(float(np.mean(v)), 4) for k, v in before.items()},
            **{f"after@{k}": round(float(np.mean(v)), 4) for k, v in after.items()}}


def encoding_speed(papers: list[Paper], sample: int = 48, rounds: int = 3) -> dict:
    """ms per paper encoded by the shipped encoder, the product's way (batches of at most
    TOKENS_PER_BATCH padded tokens) against 16 abstracts a batch (the previous way) and one
    paper at a time (the naive way); the median of ``rounds`` interleaved runs each."""
    from digest.rank.encoder import TOKENS_PER_BATCH

    embedder = default_embedder()
    assert embedder is not None
    # a paper is two encoder texts in the product (rank.embed_papers): title + abstract, title
    chosen = papers[:sample]
    texts = [paper_text(p) for p in chosen] + [title_text(p) for p in chosen]
    embedder.embed(texts[:2])  # first call: thread pools and caches warm up
    ways = {"product": TOKENS_PER_BATCH, "sixteen_a_batch": 16 * 256, "one_at_a_time": 1}
    times: dict[str, list[float]] = {w: [] for w in ways}
    for _ in range(rounds):
        for way, budget in ways.items():
            t0 = time.perf_counter()
            embedder.embed(texts, tokens_per_batch=budget)  # the MiniLM encoder's own knob
            times[way].append((time.perf_counter() - t0) * 1000 / len(chosen))
    ms = {w: round(float(np.median(v)), 1) for w, v in times.items()}
    return {"papers": len(chosen), "ms_per_paper": ms["product"],
            "sixteen_a_batch_ms_per_paper": ms["sixteen_a_batch"],
            "naive_one_at_a_time_ms_per_paper": ms["one_at_a_time"],
            "ratio_vs_naive": round(ms["one_at_a_time"] / ms["product"], 2)}


def criteria(name: str, result: dict) -> dict[str, bool]:
    """Issue 17's bars per set and per subset: ranker >= encoder alone, ranker > BM25."""
    out: dict[str, bool] = {}
    s = result["summary"]
    for tag in ("all", "mismatched"):
        if not result["counts"].get(tag):
            continue
        for k in (5, 10):
            r = s[f"{tag}/ranker/ndcg@{k}"]
            out[f"{name}/{tag}@{k}: ranker >= encoder"] = r >= s[f"{tag}/encoder_alone/ndcg@{k}"]
            out[f"{name}/{tag}@{k}: ranker > bm25"] = r > s[f"{tag}/bm25/ndcg@{k}"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cache", help="XDG cache dir for paper vectors (default: a temp dir)")
    parser.add_argument("--sets", default=",".join(SETS))
    args = parser.parse_args()
    cache = args.cache or tempfile.mkdtemp(prefix="digest-bench-")
    os.environ["XDG_CACHE_HOME"] = cache  # the product's vector cache, not the user's
    os.environ.setdefault("DIGEST_DATABASE_URL", f"sqlite:///{cache}/unused.db")
    t0 = time.perf_counter()
    runner = CliRunner()
    report: dict = {"sets": {}, "criteria": {}}
    for name in args.sets.split(","):
        loaded = load_set(name)
        if loaded is None:
            continue
        paths, spec = loaded
        result = evaluate(name, paths, spec, runner)
        report["sets"][name] = {k: v for k, v in result.items() if k != "per_profile"}
        report["criteria"].update(criteria(name, result))
        print(f"\n== {name}: {result['papers']} papers, profiles {result['counts']}")
        print(f"{'subset':11s}" + "".join(f"{run:>22s}" for run in RUNS))
        for tag in SUBSETS:
            if not result["counts"].get(tag):
                continue
            cells = [f"{result['summary'][f'{tag}/{run}/ndcg@5']:.3f} / "
                     f"{result['summary'][f'{tag}/{run}/ndcg@10']:.3f}" for run in RUNS]
            print(f"{tag:11s}" + "".join(f"{c:>22s}" for c in cells))
        for row in result["per_profile"]:
            print("  ", json.dumps(row))
        print("   feedback round:", json.dumps(result["feedback"]),
              "| subprocess digest rank == in-process:", result["subprocess_matches"])
    seeds = read_feed_files([ROOT / "seeds" / "arxiv_seed.xml"]).papers
    report["encoding"] = encoding_speed(seeds)
    print("\nencoding:", json.dumps(report["encoding"]))
    report["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(report, separators=(",", ":")))


if __name__ == "__main__":
    main()

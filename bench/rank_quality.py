"""Ranking quality: nDCG@5/@10 of the default ranker against plain BM25, plain TF-IDF and
embeddings alone, on hand-labelled profiles (bench/data/rank_judgments_*.json). With the
``semantic`` extra installed it adds the extra's ranker (MPNet relevance over neighbour-
smoothed rows, MiniLM for diversity) and the extra's embeddings alone: MPNet, and the mean
of both encoders' cosines. The JSON's ``criteria`` says which of issue 8's bars each set meets.

Run: python bench/rank_quality.py   (last line: one JSON object with every figure)
"""

from __future__ import annotations

import json
import math
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from digest.app.rank import read_feed_files
from digest.models import Paper, Profile
from digest.rank import build_ranker
from digest.rank.encoder import load_encoder
from digest.rank.ensemble import ConcatEmbedder
from digest.rank.lexical import LexicalIndex, paper_text
from digest.rank.semantic import extra_encoder

DATA = Path(__file__).resolve().parent / "data"


def seed_papers() -> list[Paper]:
    """The 60 seed papers: title line then abstract line after the page header."""
    meta = json.loads((DATA / "seed_papers_metadata.json").read_text())
    lines = [ln.strip() for ln in (DATA / "seed_papers.txt").read_text().splitlines()]
    lines = [ln for ln in lines if ln]
    start = lines.index(meta[0]["title"])
    body = lines[start : start + 2 * len(meta)]
    papers = []
    for m, (title, abstract) in zip(meta, zip(body[::2], body[1::2], strict=True), strict=True):
        papers.append(
            Paper(
                id=m["arxiv_id"],
                title=title,
                abstract=abstract,
                authors=tuple(m.get("authors") or ()),
                categories=(m["primary_category"],) if m.get("primary_category") else (),
            )
        )
    return papers


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
    order = np.argsort(-scores, kind="stable")[:k]
    return [papers[i].id for i in order]


def evaluate(name: str, papers: list[Paper], spec: dict, runs: dict) -> dict:
    lexical = LexicalIndex([paper_text(p) for p in papers])
    dates = [p.published for p in papers if p.published]
    now = (max(dates) + timedelta(days=1)) if dates else datetime(2026, 6, 15, tzinfo=UTC)
    results: dict[str, dict[str, list[float]]] = {}
    per_profile = []
    for prof in spec["profiles"]:
        judg = {k: int(v) for k, v in prof["judgments"].items()}
        missing = [pid for pid in judg if pid not in {p.id for p in papers}]
        if missing:
            raise SystemExit(f"{name}/{prof['id']}: judged ids not in corpus: {missing}")
        text = prof["interests"]
        lists = {
            "bm25": top_ids(lexical.bm25([text])[0], papers),
            "tfidf": top_ids(lexical.tfidf([text])[0], papers),
        }
        for run, (ranker, encoder) in runs.items():
            if ranker is None:
                continue
            if run.startswith("embeddings"):
                q = encoder.embed([text])[0]
                lists[run] = top_ids(ranker.vectors @ q, papers)
            else:
                got = ranker.rank(Profile(interests=text), now=now, k=10)
                lists[run] = [p.paper.id for p in got.picks]
        row = {"profile": prof["id"], "mismatched": prof.get("mismatched", False)}
        for run, ranked in lists.items():
            for k in (5, 10):
                val = ndcg(ranked, judg, k)
                results.setdefault(run, {}).setdefault(f"ndcg@{k}", []).append(val)
                if prof.get("mismatched"):
                    results[run].setdefault(f"mismatched_ndcg@{k}", []).append(val)
            row[run] = round(ndcg(ranked, judg, 10), 3)
        per_profile.append(row)
    summary = {
        run: {metric: round(float(np.mean(vals)), 4) for metric, vals in metrics.items()}
        for run, metrics in results.items()
    }
    return {"profiles": len(spec["profiles"]), "summary": summary, "per_profile": per_profile}


def evaluate_feedback(papers: list[Paper], spec: dict, ranker, now) -> dict:
    """One simulated round of feedback: the reader likes one grade-3 paper and dislikes the
    best-ranked irrelevant one; both runs then rank the rest (those two excluded)."""
    before: dict[int, list[float]] = {5: [], 10: []}
    after: dict[int, list[float]] = {5: [], 10: []}
    for prof in spec["profiles"]:
        judg = {k: int(v) for k, v in prof["judgments"].items()}
        threes = sorted(pid for pid, g in judg.items() if g == 3)
        if len(threes) < 2:
            continue  # nothing left to find after liking the only relevant paper
        liked = threes[0]
        plain = ranker.rank(Profile(interests=prof["interests"]), now=now, k=10, exclude={liked})
        wrong = [p.paper.id for p in plain.picks if judg.get(p.paper.id, 0) == 0]
        disliked = tuple(wrong[:1])
        rest = {k: v for k, v in judg.items() if k not in {liked, *disliked}}
        skip = {liked, *disliked}
        base = ranker.rank(Profile(interests=prof["interests"]), now=now, k=10, exclude=skip)
        fed = ranker.rank(
            Profile(interests=prof["interests"], liked=(liked,), disliked=disliked),
            now=now,
            k=10,
        )
        for k in (5, 10):
            before[k].append(ndcg([p.paper.id for p in base.picks], rest, k))
            after[k].append(ndcg([p.paper.id for p in fed.picks], rest, k))
    return {
        "profiles": len(before[5]),
        "no_feedback": {f"ndcg@{k}": round(float(np.mean(v)), 4) for k, v in before.items()},
        "with_feedback": {f"ndcg@{k}": round(float(np.mean(v)), 4) for k, v in after.items()},
    }


def criteria(report: dict, names: list[str]) -> dict[str, bool]:
    """Issue 8's bars, per set, at both cut-offs: the default ranker beats plain BM25 and
    TF-IDF; with the extra, its ranker beats the default ranker and each embeddings-alone run."""
    out: dict[str, bool] = {}
    for name in names:
        runs = report[name]

        def beats(a: str, b: str, runs: dict = runs) -> bool:
            return all(runs[a][f"ndcg@{k}"] > runs[b][f"ndcg@{k}"] for k in (5, 10))

        out[f"{name}: ranker > bm25, tfidf"] = beats("ranker", "bm25") and beats("ranker", "tfidf")
        if "ranker_semantic_extra" in runs:
            rivals = ("ranker", "embeddings_extra_alone", "embeddings_fused_alone")
            out[f"{name}: extra ranker > ranker, embeddings alone"] = all(
                beats("ranker_semantic_extra", r) for r in rivals
            )
    return out


def main() -> None:
    t0 = time.perf_counter()
    int8 = load_encoder()
    assert int8 is not None, "the int8 MiniLM ships with digest"
    extra = extra_encoder()  # all-mpnet-base-v2 when the semantic extra is installed
    fused = ConcatEmbedder((int8, extra)) if extra is not None else None
    sets: dict[str, tuple[list[Paper], dict]] = {}
    sets["seeds"] = (seed_papers(), json.loads((DATA / "rank_judgments_seeds.json").read_text()))
    for fname in ("rank_judgments_realdata.json", "rank_judgments_heldout_rss.json"):
        spec = json.loads((DATA / fname).read_text())
        paths = [DATA / f if not f.startswith("shared/") else find_shared(f) for f in spec["files"]]
        if any(p is None for p in paths):
            print(f"skip {spec['name']}: corpus not found", file=sys.stderr)
            continue
        sets[spec["name"]] = (read_feed_files(paths).papers, spec)
    report: dict = {"encoder_default": int8.name, "encoder_extra": fused.name if fused else None}
    for name, (papers, spec) in sets.items():
        vectors = int8.embed([paper_text(p) for p in papers])
        emb = {p.id: v for p, v in zip(papers, vectors, strict=True)}
        runs = {
            "ranker": (build_ranker(papers, embedder=int8, embeddings=emb), int8),
            "embeddings_int8": (build_ranker(papers, embedder=int8, embeddings=emb), int8),
            "ranker_no_embeddings": (build_ranker(papers, semantic=False), None),
        }
        if extra is not None and fused is not None:
            extra_vecs = extra.embed([paper_text(p) for p in papers])
            extra_emb = {p.id: v for p, v in zip(papers, extra_vecs, strict=True)}
            # ConcatEmbedder's layout, from the vectors already computed (no second encoding)
            both = np.hstack([vectors, extra_vecs]) / np.float32(np.sqrt(2.0))
            fused_emb = {p.id: v for p, v in zip(papers, both, strict=True)}
            extra_ranker = build_ranker(papers, embedder=fused, embeddings=fused_emb)
            runs["ranker_semantic_extra"] = (extra_ranker, fused)
            runs["embeddings_extra_alone"] = (
                build_ranker(papers, embedder=extra, embeddings=extra_emb),
                extra,
            )
            runs["embeddings_fused_alone"] = (extra_ranker, fused)
        result = evaluate(name, papers, spec, runs)
        print(f"\n== {name}: {len(papers)} papers, {result['profiles']} profiles")
        print(f"{'run':26s} {'nDCG@5':>7s} {'nDCG@10':>8s} {'mism@5':>7s} {'mism@10':>8s}")
        for run, m in result["summary"].items():
            print(
                f"{run:26s} {m['ndcg@5']:7.3f} {m['ndcg@10']:8.3f} "
                f"{m.get('mismatched_ndcg@5', float('nan')):7.3f} "
                f"{m.get('mismatched_ndcg@10', float('nan')):8.3f}"
            )
        for row in result["per_profile"]:
            print("  ", json.dumps(row))
        report[name] = result["summary"]
        dates = [p.published for p in papers if p.published]
        now = (max(dates) + timedelta(days=1)) if dates else datetime(2026, 6, 15, tzinfo=UTC)
        fb = evaluate_feedback(papers, spec, runs["ranker"][0], now)
        print(f"   feedback round ({fb['profiles']} profiles): {json.dumps(fb)}")
        report[name]["ranker_after_feedback"] = fb
        if "ranker_semantic_extra" in runs:
            fb = evaluate_feedback(papers, spec, runs["ranker_semantic_extra"][0], now)
            report[name]["ranker_semantic_extra_after_feedback"] = fb
    report["criteria"] = criteria(report, list(sets))
    report["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(report, separators=(",", ":")))


if __name__ == "__main__":
    main()

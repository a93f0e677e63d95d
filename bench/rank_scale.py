"""Scale of the product's ranking path: ``Ranker.rank_many`` (what planning runs) over a pool
of 2,000 papers, per profile, with the profile encoding split out.

Papers: clustered 384-d vectors (same-topic cosine ~0.5, like real abstracts) standing in for
stored embeddings, with topic word texts. Profiles: 3-6 topic words each, a third with an
author, a category and liked/disliked papers. Distinct profiles are each encoded once by the
shipped MiniLM; ``--repeat`` readers share each profile text (a cache hit after the first).
Whole-edition figures, store and delivery included, come from bench/edition.py. Last line:
one JSON object.

    .venv/bin/python bench/rank_scale.py [--profiles 500] [--papers 2000] [--repeat 4]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from datetime import UTC, datetime

import numpy as np

from digest.models import Paper, Profile
from digest.rank import build_ranker
from digest.rank.encoder import load_encoder

DIM = 384
TOPICS = 60
NOW = datetime(2026, 6, 15, tzinfo=UTC)


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def corpus(rng: np.random.Generator, n: int) -> tuple[list[Paper], dict[str, np.ndarray], list[list[str]]]:
    """Papers, their vectors and each topic's words."""
    centers = unit(rng.normal(size=(TOPICS, DIM)))
    topic = rng.integers(0, TOPICS, n)
    vecs = unit(centers[topic] + 0.9 * rng.normal(size=(n, DIM)) / np.sqrt(DIM))
    words = [[f"topic{t}word{j}" for j in range(40)] for t in range(TOPICS)]
    papers = [Paper(id=f"p{i}", title=" ".join(rng.choice(words[t], 8)),
                    abstract=" ".join(rng.choice(words[t], 120)), authors=(f"Author {i % 700}",),
                    categories=(f"cs.T{t % 20}",), upvotes=int(rng.zipf(1.8)) % 500,
                    published=NOW)
              for i, t in enumerate(topic)]
    # each paper's two rows as the store keeps them (whole text, then title: a title's vector
    # stands close to its paper's)
    titles = unit(vecs + 0.3 * rng.normal(size=vecs.shape) / np.sqrt(DIM))
    return papers, {p.id: np.stack([v, t]) for p, v, t in zip(papers, vecs, titles, strict=True)}, words


def profiles(rng: np.random.Generator, n: int, words: list[list[str]],
             papers: list[Paper]) -> list[Profile]:
    out = []
    for i in range(n):
        t = int(rng.integers(0, TOPICS))
        text = " ".join(rng.choice(words[t], int(rng.integers(3, 7))))
        if i % 3:
            out.append(Profile(interests=text))
            continue
        liked = tuple(papers[int(j)].id for j in rng.integers(0, len(papers), 3))
        disliked = tuple(papers[int(j)].id for j in rng.integers(0, len(papers), 3))
        out.append(Profile(interests=text, authors=(f"Author {i % 700}",),
                           categories=(f"cs.T{t % 20}",), liked=liked, disliked=disliked))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profiles", type=int, default=500)
    ap.add_argument("--papers", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=4, help="readers per distinct profile text")
    args = ap.parse_args()
    rng = np.random.default_rng(8)
    papers, vecs, words = corpus(rng, args.papers)
    encoder = load_encoder()
    t = time.perf_counter()
    ranker = build_ranker(papers, embedder=encoder, embeddings=vecs)
    build_s = time.perf_counter() - t
    profs = profiles(rng, args.profiles, words, papers)
    requests = [(p, 10, frozenset()) for p in profs]
    cpu, wall = time.process_time(), time.perf_counter()
    first = ranker.rank_many(requests, now=NOW)
    distinct_cpu, distinct_wall = time.process_time() - cpu, time.perf_counter() - wall
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(args.repeat - 1):
        again = ranker.rank_many(requests, now=NOW)
    cached_cpu = (time.process_time() - cpu) / max(args.repeat - 1, 1)
    assert args.repeat < 2 or [r.picks for r in again] == [r.picks for r in first]
    assert encoder is not None
    texts = [p.interests for p in profs[:100]]
    cpu = time.process_time()
    for text in texts:
        encoder.embed([text])
    encode_ms = (time.process_time() - cpu) / len(texts) * 1000
    per_distinct = distinct_cpu / args.profiles * 1000
    per_cached = cached_cpu / args.profiles * 1000
    readers = args.profiles * args.repeat
    mixed = (distinct_cpu + cached_cpu * (args.repeat - 1)) / readers * 1000
    print(f"ranker over {args.papers} papers built in {build_s:.2f} s")
    print(f"distinct profile: {per_distinct:.1f} ms CPU ({encode_ms:.1f} of it encoding the "
          f"text), repeated profile: {per_cached:.1f} ms CPU; {readers} readers sharing "
          f"{args.profiles} texts: {mixed:.1f} ms each; wall {distinct_wall:.1f} s for the "
          f"first {args.profiles}; host load {os.getloadavg()[0]:.1f}")
    print(json.dumps({
        "bench": "rank_scale", "papers": args.papers, "profiles": args.profiles,
        "repeat": args.repeat, "build_s": round(build_s, 2),
        "ms_per_distinct_profile": round(per_distinct, 2),
        "ms_encoding_per_profile": round(encode_ms, 2),
        "ms_per_repeated_profile": round(per_cached, 2), "ms_per_reader_mixed": round(mixed, 2),
        "quiet": sum(r.quiet for r in first),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "load_avg_1m": round(os.getloadavg()[0], 1),
    }))


if __name__ == "__main__":
    main()

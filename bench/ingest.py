"""Ingest benchmark on SQLite with a synthetic 10,000-entry arXiv-format RSS feed: parse +
normalize; the bulk store path vs a naive per-entry SELECT + INSERT baseline (same run);
the same entries stored again (per-entry hash check); end to end through fetch_feeds, then
the unchanged feed again (skipped by its body hash). Last line: one JSON object.

Run: ``python bench/ingest.py [--entries 10000]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

from sqlalchemy import select

from digest.app.fetch import fetch_feeds
from digest.feeds import FeedSpec, parse_feed
from digest.store.db import open_store
from digest.store.papers import _to_row, upsert_papers
from digest.store.schema import papers

WORDS = [
    "model", "learning", "neural", "graph", "language", "vision", "transformer", "diffusion",
    "robust", "sparse", "optimal", "causal", "agent", "reasoning", "benchmark", "retrieval",
    "quantum", "scalable", "efficient", "multimodal", "alignment", "policy", "gradient",
    "kernel", "bayesian", "federated",
]
CATS = ("cs.LG", "cs.AI", "cs.CL", "cs.CV", "stat.ML", "cs.RO", "math.OC")


def synthetic_feed(n: int, seed: int = 7) -> bytes:
    """An rss.arxiv.org-shaped RSS 2.0 document with ``n`` realistic items."""
    rnd = random.Random(seed)
    items = []
    for i in range(n):
        pid = f"2611.{10000 + i:05d}"
        title = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(6, 14))).capitalize()
        abstract = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(120, 220)))
        authors = ", ".join(f"Author{rnd.randint(1, 5000)} Surname{rnd.randint(1, 5000)}"
                            for _ in range(rnd.randint(1, 8)))
        kind = rnd.choice(("new", "new", "new", "cross", "replace"))
        cats = "".join(f"<category>{c}</category>" for c in rnd.sample(CATS, rnd.randint(1, 3)))
        items.append(
            f"<item><title>{escape(title)}</title><link>https://arxiv.org/abs/{pid}</link>"
            f"<description>arXiv:{pid}v1 Announce Type: {kind} \nAbstract: {escape(abstract)}"
            f"</description><guid isPermaLink=\"false\">oai:arXiv.org:{pid}v1</guid>{cats}"
            f"<pubDate>Mon, 23 Nov 2026 00:00:00 -0500</pubDate>"
            f"<arxiv:announce_type>{kind}</arxiv:announce_type>"
            f"<dc:rights>http://creativecommons.org/licenses/by/4.0/</dc:rights>"
            f"<dc:creator>{escape(authors)}</dc:creator></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss xmlns:arxiv="http://arxiv.org/schemas/atom" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" version="2.0"><channel>'
        "<title>cs.LG updates on arXiv.org</title><link>http://rss.arxiv.org/rss/cs.LG</link>"
        "<description>cs.LG updates on the arXiv.org e-print archive.</description>"
        + "".join(items) + "</channel></rss>"
    ).encode()


def timed_fetch(engine, path: Path, now: datetime) -> tuple[float, object]:
    start = time.perf_counter()
    result, = asyncio.run(fetch_feeds(engine, [FeedSpec("cs.LG", str(path))], now=now))
    return time.perf_counter() - start, result


def naive_store(engine, parsed: list, now: datetime) -> float:
    """The baseline: one SELECT and one INSERT per entry (one transaction, to be fair)."""
    start = time.perf_counter()
    with engine.begin() as conn:
        for paper in parsed:
            found = conn.execute(select(papers.c.id).where(papers.c.id == paper.id)).first()
            if found is None:
                conn.execute(papers.insert().values(**_to_row(paper, now)))
    return time.perf_counter() - start


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    return time.perf_counter() - start, value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=10_000)
    n = parser.parse_args().entries
    data = synthetic_feed(n)
    now = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as tmp:
        # Stage by stage: parse + normalize, then the bulk store path vs the naive one.
        parse_s, parsed = timed(parse_feed, data, source="cs.LG")
        print(f"parse+normalize: {len(parsed.papers)} papers in {parse_s:.2f}s "
              f"({n / parse_s:,.0f} entries/s)")
        bulk = open_store(f"sqlite:///{tmp}/bulk.db")
        store_s, counts = timed(upsert_papers, bulk, parsed.papers, now=now)
        again_s, again = timed(upsert_papers, bulk, parsed.papers, now=now + timedelta(hours=1))
        bulk.dispose()
        print(f"store (bulk): {counts.new} new in {store_s:.2f}s; same entries again: "
              f"{again.unchanged} unchanged in {again_s:.2f}s")
        naive = open_store(f"sqlite:///{tmp}/naive.db")
        naive_s = naive_store(naive, parsed.papers, now)
        naive.dispose()
        print(f"store (naive, per entry): {naive_s:.2f}s -> bulk is {naive_s / store_s:.1f}x faster")
        # End to end through fetch_feeds: first run, then the unchanged feed again.
        feed = Path(tmp) / "cs.LG.xml"
        feed.write_bytes(data)
        engine = open_store(f"sqlite:///{tmp}/e2e.db")
        first_s, first = timed_fetch(engine, feed, now)
        same_s, same = timed_fetch(engine, feed, now + timedelta(hours=1))
        engine.dispose()
        print(f"end to end: {first.new} new in {first_s:.2f}s ({n / first_s:,.0f} entries/s); "
              f"unchanged feed: {same.status} in {same_s * 1000:.1f} ms")
    figures = {
        "entries": n,
        "feed_bytes": len(data),
        "parse_normalize_s": round(parse_s, 3),
        "store_bulk_s": round(store_s, 3),
        "store_bulk_entries_per_s": round(n / store_s),
        "store_same_entries_again_s": round(again_s, 3),
        "store_naive_s": round(naive_s, 3),
        "store_speedup_vs_naive": round(naive_s / store_s, 1),
        "end_to_end_first_s": round(first_s, 3),
        "end_to_end_entries_per_s": round(n / first_s),
        "new": first.new,
        "unchanged_feed_s": round(same_s, 4),
        "unchanged_feed_status": same.status,
        "unchanged_vs_first": round(same_s / first_s, 5),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

"""A small hand-written corpus shared by the ranker tests (plain data, no I/O)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np

from digest.models import Paper

NOW = datetime(2026, 6, 15, tzinfo=UTC)


class CountingEmbedder:
    """A small deterministic encoder (hashed bag of words) that counts what it encodes."""

    def __init__(self, name: str = "test-hash-64") -> None:
        self.name = name
        self.encoded: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.encoded.extend(texts)
        rows = np.zeros((len(texts), 64), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                rows[i, int(hashlib.md5(word.encode()).hexdigest(), 16) % 64] += 1.0
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        return rows / np.where(norms == 0, 1, norms)


def paper(pid: str, title: str, abstract: str, **kw: object) -> Paper:
    return Paper(id=pid, title=title, abstract=abstract, **kw)  # type: ignore[arg-type]


CORPUS = (
    paper(
        "2601.00001",
        "ShadowKV: KV cache offloading for long context inference",
        "We compress the key-value cache of large language models so that long context "
        "inference fits in GPU memory, storing low-rank keys and offloading values to CPU.",
        authors=("Ada Lovelace", "Alan Turing"),
        categories=("cs.CL",),
        upvotes=118,
        published=datetime(2026, 6, 14, tzinfo=UTC),
    ),
    paper(
        "2601.00002",
        "Inverse folding with graph neural networks",
        "Given a target backbone structure, our model generates amino acid sequences that fold "
        "into it. Designed sequences recover native residues and fold in silico.",
        categories=("q-bio.BM",),
        upvotes=3,
        published=datetime(2026, 6, 1, tzinfo=UTC),
    ),
    paper(
        "2601.00003",
        "Mutation testing for Python projects",
        "We study mutation testing on open-source Python repositories and measure how often "
        "test suites detect injected faults.",
        authors=("Grace Hopper",),
        categories=("cs.SE",),
        published=datetime(2026, 6, 10, tzinfo=UTC),
    ),
    paper(
        "2601.00004",
        "Speculative decoding with a small draft model",
        "A small draft language model proposes tokens that a large model verifies in parallel, "
        "which speeds up autoregressive generation without changing its output distribution.",
        categories=("cs.CL", "cs.LG"),
        upvotes=40,
        published=datetime(2026, 6, 12, tzinfo=UTC),
    ),
    paper(
        "2601.00005",
        "Galaxy cluster masses from weak gravitational lensing",
        "We measure masses of galaxy clusters using weak lensing shear profiles from a "
        "wide-field imaging survey.",
        categories=("astro-ph.CO",),
        published=datetime(2026, 6, 13, tzinfo=UTC),
    ),
    paper(
        "2601.00006",
        "ShadowKV: KV cache offloading for long-context inference (v2)",
        "We compress the key-value cache of large language models so that long-context "
        "inference fits in GPU memory, storing low-rank keys and offloading values to the CPU.",
        categories=("cs.CL",),
        published=datetime(2026, 6, 14, tzinfo=UTC),
    ),
    paper(
        "2601.00007",
        "Quantized attention kernels for long sequences",
        "We quantize queries and keys to 8 bits inside the attention kernel, cutting memory "
        "traffic when language models process long sequences.",
        categories=("cs.LG",),
        published=datetime(2026, 6, 11, tzinfo=UTC),
    ),
)

"""The semantic extra: MPNet read from split zip parts, its numpy forward pass, and the
MiniLM + MPNet fusion (tests that need the extra's 400 MB of weights skip without it)."""

from __future__ import annotations

import io
import itertools
import zipfile
from pathlib import Path

import numpy as np
import pytest

from digest.models import Paper, Profile
from digest.rank import build_ranker, default_embedder, from_blob, to_blob
from digest.rank.encoder import load_encoder
from digest.rank.ensemble import ConcatEmbedder, is_fused, relevance_rows
from digest.rank.mpnet import JoinedFiles, bucket, load_mpnet, part_files
from digest.rank.semantic import extra_encoder
from tests.unit.rank_fixtures import CORPUS, NOW

needs_extra = pytest.mark.skipif(
    part_files() is None, reason="semantic extra (all-mpnet-base-v2 parts) not installed"
)


@pytest.fixture(scope="module")
def minilm():
    enc = load_encoder()
    assert enc is not None
    return enc


def test_joined_files_read_a_zip_split_in_byte_ranges(tmp_path: Path) -> None:
    buf = io.BytesIO()
    payload = np.random.default_rng(1).bytes(50_000)
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("m/model.bin", payload)
        zf.writestr("m/tokenizer.json", b"{}")
    raw = buf.getvalue()
    cuts = [0, 7, len(raw) // 2, len(raw)]
    parts = []
    for i, (a, b) in enumerate(itertools.pairwise(cuts)):
        part = tmp_path / f"m.zip.00{i + 1}"
        part.write_bytes(raw[a:b])
        parts.append(part)
    with zipfile.ZipFile(io.BufferedReader(JoinedFiles(parts), 4096)) as zf:
        assert zf.read("m/model.bin") == payload
        assert zf.read("m/tokenizer.json") == b"{}"


def test_relative_position_buckets_match_mpnet() -> None:
    # Values from transformers' MPNetEncoder.relative_position_bucket: exact below 8 apart,
    # log-spaced to 128, then capped; keys after the query add 16.
    rel = np.array([0, -1, -7, -8, -20, -127, -500, 1, 7, 500])
    assert bucket(rel).tolist() == [0, 1, 7, 8, 10, 15, 15, 17, 23, 31]


def test_concat_rows_are_unit_and_their_cosine_is_the_mean(minilm) -> None:
    texts = ["protein design", "inverse folding of backbones", "KV cache compression"]
    other = ConcatEmbedder((minilm,))  # one part: the same vectors
    fused = ConcatEmbedder((minilm, other))
    rows = fused.embed(texts)
    assert fused.name == "minilm-l6-v2-int8+minilm-l6-v2-int8"
    assert rows.shape == (3, 768) and rows.dtype == np.float32
    assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5)
    alone = minilm.embed(texts)
    assert np.allclose(rows @ rows.T, alone @ alone.T, atol=1e-5)
    back = [from_blob(to_blob(r)) for r in rows]  # the store's round trip
    first, second = fused.split(np.stack(back))
    assert np.allclose(first, alone, atol=1e-6) and np.allclose(second, alone, atol=1e-6)
    with pytest.raises(ValueError):
        fused.split(alone)
    # Relevance reads the last encoder's columns; a plain embedder's rows pass through.
    assert np.allclose(relevance_rows(fused, np.stack(back)), alone, atol=1e-6)
    assert relevance_rows(minilm, alone) is alone


class _Noise:
    """A deterministic encoder that knows nothing: a fixed random unit row per text."""

    name, dim = "noise", 384

    def embed(self, texts: list[str]) -> np.ndarray:
        rows = [np.random.default_rng(sum(map(ord, t))).normal(size=self.dim) for t in texts]
        m = np.array(rows, dtype=np.float32)
        return m / np.linalg.norm(m, axis=1, keepdims=True)


def test_a_fused_ranker_scores_relevance_with_the_last_encoder(minilm) -> None:
    both = ConcatEmbedder((_Noise(), minilm))
    assert is_fused(both) and not is_fused(minilm)
    assert not is_fused(ConcatEmbedder((minilm,)))
    got = build_ranker(CORPUS, embedder=both).rank(Profile(interests="protein design"), now=NOW, k=3)
    assert got.picks[0].paper.id == "2601.00002"  # inverse folding: MiniLM's judgement


def test_without_the_extra_the_default_is_minilm_alone() -> None:
    if part_files() is not None:
        pytest.skip("semantic extra installed")
    assert extra_encoder() is None
    enc = default_embedder()
    assert enc is not None and enc.name == "minilm-l6-v2-int8"


@needs_extra
def test_mpnet_matches_the_reference_forward_pass() -> None:
    # Reference: transformers' MPNetModel + mean pooling + L2 norm on the same weights (torch,
    # computed once offline); the long text crosses 128 tokens (the log-spaced buckets).
    mpnet = extra_encoder()
    assert mpnet is not None
    texts = [
        "protein design",
        "Given a backbone structure, generate amino acid sequences that fold into it.",
        "We compress the key-value cache of large language models for long inputs.",
        "We study transformers. " * 60,
    ]
    v = mpnet.embed(texts)
    assert v.shape == (4, 768) and np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    ref0 = [0.01555428, -0.03961278, 0.00786882, 0.00465668, -0.02771507, -0.01964886]
    ref3 = [-0.0101429, -0.01980988, 0.00820391, 0.0025548, -0.03155227, 0.00920232]
    assert np.allclose(v[0, :6], ref0, atol=2e-6)
    assert np.allclose(v[3, :6], ref3, atol=2e-6)
    assert float(v[0] @ v[1]) == pytest.approx(0.487067, abs=1e-4)
    assert float(v[0] @ v[2]) == pytest.approx(0.081486, abs=1e-4)
    padded = mpnet.embed(["speculative decoding", "a much longer text " * 30])[0]
    assert float(mpnet.embed(["speculative decoding"])[0] @ padded) > 0.9999


@needs_extra
def test_with_the_extra_the_default_fuses_minilm_and_mpnet(minilm) -> None:
    enc = default_embedder()
    assert isinstance(enc, ConcatEmbedder)
    assert enc.name == "minilm-l6-v2-int8+mpnet-base-v2-fp32"
    rows = enc.embed(["protein design", "KV cache"])
    assert rows.shape == (2, 384 + 768)
    assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5)
    mini, _ = enc.split(rows)
    assert np.allclose(mini, minilm.embed(["protein design", "KV cache"]), atol=1e-5)


@needs_extra
def test_fused_ranker_bridges_vocabulary_and_keeps_reasons() -> None:
    ranker = build_ranker(CORPUS)
    assert ranker.vectors is not None and ranker.vectors.shape[1] == 384 + 768
    got = ranker.rank(Profile(interests="protein design"), now=NOW, k=3)
    assert got.picks[0].paper.id == "2601.00002"
    assert got.picks[0].reasons


def test_broken_parts_load_as_no_model(tmp_path: Path) -> None:
    bad = tmp_path / "all-mpnet-base-v2.zip.001"
    bad.write_bytes(b"not a zip")
    with pytest.raises(zipfile.BadZipFile):
        load_mpnet([bad])


class _Table:
    """An encoder for a made-up world: texts containing a key get that key's unit row."""

    name, dim = "table", 3
    rows = (("query", (1.0, 0.0, 0.0)), ("match", (0.9, 0.436, 0.0)), ("other", (0.1, 0.0, 0.995)))

    def embed(self, texts: list[str]) -> np.ndarray:
        out = [next(v for k, v in self.rows if k in t) for t in texts]
        m = np.array(out, dtype=np.float32)
        return m / np.linalg.norm(m, axis=1, keepdims=True)


def test_smoothing_reorders_but_never_lifts_a_paper_over_the_floor() -> None:
    # Two papers: one matches (cosine 0.9), one does not (0.1) and has only the match as its
    # neighbour. Smoothed, it would score 0.7 * 0.1 + 0.3 * 0.9 = 0.34, over the floor.
    papers = [
        Paper(id="2601.10001", title="match", abstract="a paper on the subject"),
        Paper(id="2601.10002", title="other", abstract="a paper on something else"),
    ]
    both = ConcatEmbedder((_Table(), _Table()))
    got = build_ranker(papers, embedder=both).rank(Profile(interests="query"), now=NOW, k=5)
    assert [p.paper.id for p in got.picks] == ["2601.10001"]
    assert got.quiet

"""The packaged MiniLM encoder: offline loading, output shape, meaning, and the int8 format."""

from __future__ import annotations

import numpy as np
import pytest

from digest.rank.encoder import (
    INT8_WEIGHTS,
    dequantize,
    load_encoder,
    quantize_int8,
)


@pytest.fixture(scope="module")
def embedder():
    enc = load_encoder()
    assert enc is not None, "the int8 model ships in digest/rank/model/; it must load offline"
    return enc


def test_shipped_model_files_exist() -> None:
    assert INT8_WEIGHTS.exists()
    assert (INT8_WEIGHTS.parent / "tokenizer.json").exists()


def test_embed_returns_unit_float32_rows(embedder) -> None:
    out = embedder.embed(["KV cache compression", "", "x " * 300])
    assert out.shape == (3, 384)
    assert out.dtype == np.float32
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-4)
    assert embedder.embed([]).shape == (0, 384)


def test_embedding_is_independent_of_batch_company(embedder) -> None:
    # Padding must be masked out: a text embeds the same alone or beside a long one.
    alone = embedder.embed(["speculative decoding"])[0]
    padded = embedder.embed(["speculative decoding", "a much longer text " * 30])[0]
    assert float(alone @ padded) > 0.9999


def test_embeddings_bridge_vocabulary_gaps(embedder) -> None:
    query, folding, kv = embedder.embed(
        [
            "protein design",
            "Given a backbone structure, generate amino acid sequences that fold into it.",
            "We compress the key-value cache of large language models for long inputs.",
        ]
    )
    assert float(query @ folding) > float(query @ kv) + 0.1


def test_quantize_roundtrip_keeps_rows_close() -> None:
    rng = np.random.default_rng(0)
    weights = {"big.weight": rng.normal(size=(400, 384)).astype(np.float32), "b": np.ones(4)}
    stored = quantize_int8(weights)
    assert stored["big.weight"].dtype == np.int8
    back = dequantize(stored)
    err = np.abs(back["big.weight"] - weights["big.weight"]).max()
    assert err <= np.abs(weights["big.weight"]).max() / 127
    assert np.array_equal(back["b"], np.ones(4, dtype=np.float32))




def test_progress_counts_every_text_once_and_changes_no_vector(embedder) -> None:
    # `digest rank --feed` draws its bar from this hook (issue 18: no silent minute).
    texts = [f"paper {i} on state space models " * (1 + i % 7) for i in range(40)]
    heard: list[tuple[int, int]] = []
    with_bar = embedder.embed(texts, on_progress=lambda done, total: heard.append((done, total)))
    assert len(heard) > 1  # several batches, each reported
    assert [d for d, _ in heard] == sorted({d for d, _ in heard})  # strictly growing
    assert heard[-1] == (40, 40) and all(total == 40 for _, total in heard)
    assert np.array_equal(with_bar, embedder.embed(texts))

"""The shipped int8 MiniLM against reference embeddings made by sentence-transformers + torch.

tests/fixtures/minilm_golden.npz was computed once, outside digest, by bench/golden_vectors.py
(the module docstring has the exact commands): ``shipped`` is the reference implementation run
on the very weights digest ships, ``fp32`` the published model before quantization.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from digest.rank.encoder import INT8_WEIGHTS, TOKENIZER_FILE, MiniLMEncoder, dequantize, load_encoder

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "minilm_golden.npz"
# numpy vs torch on the same fp32 weights agree to ~2e-7 per component (measured); one int8
# step on one weight moves some component by >= 2.5e-6 (measured on the tensors below).
TOLERANCE = 1e-6


def _golden() -> tuple[list[str], np.ndarray, np.ndarray, dict[str, object]]:
    with np.load(GOLDEN, allow_pickle=False) as g:
        return ([str(t) for t in g["texts"]], g["shipped"], g["fp32"], json.loads(str(g["meta"])))


def _worst(encoder: MiniLMEncoder, texts: list[str], reference: np.ndarray) -> float:
    return float(np.abs(encoder.embed(texts) - reference).max())


def test_the_golden_vectors_were_made_from_the_weights_that_ship() -> None:
    _, _, _, meta = _golden()
    assert hashlib.sha256(INT8_WEIGHTS.read_bytes()).hexdigest() == meta["weights_sha256"], (
        "digest/rank/model changed: rerun bench/golden_vectors.py and review the drift it prints"
    )
    assert hashlib.sha256(TOKENIZER_FILE.read_bytes()).hexdigest() == meta["tokenizer_sha256"]


def test_forward_pass_reproduces_the_reference_implementation_on_the_shipped_weights() -> None:
    texts, shipped, _, _ = _golden()
    encoder = load_encoder()
    assert encoder is not None
    assert _worst(encoder, texts, shipped) <= TOLERANCE


def test_int8_weights_stay_within_the_quantization_budget_of_the_published_model() -> None:
    texts, _, fp32, _ = _golden()
    encoder = load_encoder()
    assert encoder is not None
    cos = (encoder.embed(texts) * fp32).sum(axis=1)
    real = [i for i, t in enumerate(texts) if t]
    assert cos[real].min() >= 0.999  # measured 0.9994 at worst
    assert cos.min() >= 0.99  # the empty text ([CLS][SEP] only) drifts most: 0.9964


@pytest.mark.parametrize(
    ("key", "index"),
    [
        ("embeddings.word_embeddings.weight", (101, 17)),  # [CLS], in every text
        ("encoder.layer.0.attention.self.query.weight", (5, 7)),
        ("encoder.layer.3.intermediate.dense.weight", (10, 10)),
        ("encoder.layer.5.output.dense.weight", (100, 200)),
        ("embeddings.LayerNorm.weight", (3,)),
    ],
)
def test_one_perturbed_weight_fails_the_golden_check(key: str, index: tuple[int, ...]) -> None:
    texts, shipped, _, _ = _golden()
    with np.load(INT8_WEIGHTS) as stored:
        weights = {k: stored[k] for k in stored.files}
    w = weights[key].copy()
    if key + "::scale" in weights:  # one int8 step: the smallest change the file can hold
        w[index] = w[index] + 1 if w[index] < 127 else w[index] - 1
    else:
        w[index] += np.abs(w).max() / 127
    weights[key] = w
    perturbed = MiniLMEncoder(dequantize(weights), TOKENIZER_FILE, name="perturbed")
    assert _worst(perturbed, texts, shipped) > TOLERANCE

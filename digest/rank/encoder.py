"""Sentence embeddings from BERT-family encoders, run as a small numpy forward pass.

No torch and no network: all-MiniLM-L6-v2 from the int8 file shipped in ``digest/rank/model/``,
checked against the reference implementation's vectors by tests/unit/test_rank_golden.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol, cast

import numpy as np

MODEL_DIR = Path(__file__).resolve().parent / "model"
INT8_WEIGHTS = MODEL_DIR / "minilm-l6-v2-int8.npz"
TOKENIZER_FILE = MODEL_DIR / "tokenizer.json"
MAX_TOKENS = 256  # the model's own max_seq_length (sentence_bert_config.json)
HEADS = 12
# Padded tokens per forward batch. Measured on the seed abstracts (~250 tokens each, one BLAS
# thread): 16 abstracts a batch ran 127-206 ms per abstract, 2 a batch 92-108 ms, 1 a batch
# 91-117 ms: large batches' activations (16 x 256 x 1536 floats, 25 MB) spill out of cache.
TOKENS_PER_BATCH = 512
EPS = 1e-12


class Embedder(Protocol):
    """Anything that turns texts into float32, L2-normalized rows (one per text)."""

    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def quantize_int8(weights: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per-row symmetric int8 for the big matrices; small tensors stay fp32.

    Weight-only quantization keeps activations in fp32, which is why it stays much closer to
    the original than onnxruntime's dynamic int8 (which also quantizes activations).
    """
    out: dict[str, np.ndarray] = {}
    for key, w in weights.items():
        if key.endswith("position_ids"):
            continue
        w = np.asarray(w, dtype=np.float32)
        if w.ndim == 2 and w.shape[0] * w.shape[1] >= 384 * 384 and "position" not in key:
            scale = np.abs(w).max(axis=1, keepdims=True) / 127.0
            scale[scale == 0] = 1.0
            out[key] = np.round(w / scale).astype(np.int8)
            out[key + "::scale"] = scale.astype(np.float32)
        else:
            out[key] = w
    return out


def dequantize(stored: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Undo :func:`quantize_int8` (fp32 tensors pass through)."""
    out: dict[str, np.ndarray] = {}
    for key in stored:
        if key.endswith("::scale"):
            continue
        w = stored[key]
        scale_key = key + "::scale"
        out[key] = (w.astype(np.float32) * stored[scale_key]) if scale_key in stored else w
    return out


def _erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz & Stegun 7.1.26 (max error 1.5e-7, below fp32 noise): scipy's erf is
    # ~15x slower and was a third of the forward pass.
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    # numpy's stubs type arithmetic on dtype[Any] arrays as Any: the result is an ndarray.
    return cast(np.ndarray, sign * (1.0 - poly * np.exp(-a * a)))


def _layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float = EPS) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return cast(np.ndarray, (x - mean) / np.sqrt(var + eps) * gamma + beta)  # Any in the stubs


class MiniLMEncoder:
    """A BERT-family sentence encoder with mean pooling and L2 normalization.

    Defaults are all-MiniLM-L6-v2's; ``eps``, ``position_offset`` and ``relative_bias`` let the
    same pass run other BERT-family encoders (MPNet adds a relative-position bias per layer).
    """

    def __init__(
        self,
        weights: Mapping[str, np.ndarray],
        tokenizer_file: Path,
        name: str,
        *,
        max_tokens: int = MAX_TOKENS,
        eps: float = EPS,
        position_offset: int = 0,
        relative_bias: Callable[[int], np.ndarray] | None = None,
    ) -> None:
        from tokenizers import Tokenizer

        self.name = name
        self._tok = Tokenizer.from_file(str(tokenizer_file))
        self._tok.no_padding()
        self._tok.enable_truncation(max_length=max_tokens)
        from threadpoolctl import ThreadpoolController  # comes with scikit-learn

        self._threads = ThreadpoolController()
        self._eps, self._offset, self._relative_bias = eps, position_offset, relative_bias
        w = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in weights.items()}
        self._emb = {k: v for k, v in w.items() if k.startswith("embeddings.")}
        self.dim = int(self._emb["embeddings.word_embeddings.weight"].shape[1])
        self._layers = []
        i = 0
        while f"encoder.layer.{i}.attention.self.query.weight" in w:
            p = f"encoder.layer.{i}."
            qkv = np.concatenate(
                [w[p + f"attention.self.{n}.weight"] for n in ("query", "key", "value")]
            )
            self._layers.append(
                {
                    "qkv": np.ascontiguousarray(qkv.T),
                    "qkv_b": np.concatenate(
                        [w[p + f"attention.self.{n}.bias"] for n in ("query", "key", "value")]
                    ),
                    "o": np.ascontiguousarray(w[p + "attention.output.dense.weight"].T),
                    "o_b": w[p + "attention.output.dense.bias"],
                    "ln1_g": w[p + "attention.output.LayerNorm.weight"],
                    "ln1_b": w[p + "attention.output.LayerNorm.bias"],
                    "i": np.ascontiguousarray(w[p + "intermediate.dense.weight"].T),
                    "i_b": w[p + "intermediate.dense.bias"],
                    "out": np.ascontiguousarray(w[p + "output.dense.weight"].T),
                    "out_b": w[p + "output.dense.bias"],
                    "ln2_g": w[p + "output.LayerNorm.weight"],
                    "ln2_b": w[p + "output.LayerNorm.bias"],
                }
            )
            i += 1

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        e, eps = self._emb, self._eps
        batch, length = ids.shape
        x = (
            e["embeddings.word_embeddings.weight"][ids]
            + e["embeddings.position_embeddings.weight"][self._offset : self._offset + length][None]
        )
        if "embeddings.token_type_embeddings.weight" in e:
            x = x + e["embeddings.token_type_embeddings.weight"][0]
        x = _layer_norm(x, e["embeddings.LayerNorm.weight"], e["embeddings.LayerNorm.bias"], eps)
        hidden = x.shape[-1]
        dim = hidden // HEADS
        bias = np.where(mask[:, None, None, :] > 0, 0.0, -1e9).astype(np.float32)
        if self._relative_bias is not None:
            bias = bias + self._relative_bias(length)[None]  # (heads, length, length)
        for lw in self._layers:
            qkv = x @ lw["qkv"] + lw["qkv_b"]
            qkv = qkv.reshape(batch, length, 3, HEADS, dim).transpose(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            scores = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(dim)) + bias
            scores -= scores.max(axis=-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(axis=-1, keepdims=True)
            ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, length, hidden)
            x = _layer_norm(ctx @ lw["o"] + lw["o_b"] + x, lw["ln1_g"], lw["ln1_b"], eps)
            h = x @ lw["i"] + lw["i_b"]
            h = 0.5 * h * (1.0 + _erf(h / np.float32(np.sqrt(2.0))))  # BERT's exact GELU
            x = _layer_norm(h @ lw["out"] + lw["out_b"] + x, lw["ln2_g"], lw["ln2_b"], eps)
        m = mask[..., None].astype(np.float32)
        pooled: np.ndarray = (x * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)  # Any in the stubs
        return pooled.astype(np.float32)

    def embed(self, texts: Sequence[str], tokens_per_batch: int = TOKENS_PER_BATCH,
              on_progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """Embed texts (truncated to the model's max length); rows are float32, unit length.

        Batches hold at most ``tokens_per_batch`` padded tokens (at least one text), so two
        abstracts or dozens of short interests go through together. ``on_progress(done,
        total)`` hears, in texts, after each batch (a progress bar's hook; the batches and
        so the vectors are the same with or without it).
        """
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encs = self._tok.encode_batch([t or "" for t in texts])
        # Sort by length so each batch pads little: attention cost grows with the longest row.
        order = sorted(range(len(encs)), key=lambda j: len(encs[j].ids))
        chunks: list[list[int]] = []
        for j in order:
            length = len(encs[j].ids)  # the longest so far: the order is ascending
            if chunks and (len(chunks[-1]) + 1) * length <= tokens_per_batch:
                chunks[-1].append(j)
            else:
                chunks.append([j])
        done = 0
        for chunk in chunks:
            length = max(len(encs[j].ids) for j in chunk)
            ids = np.zeros((len(chunk), length), dtype=np.int64)
            mask = np.zeros((len(chunk), length), dtype=np.int64)
            for row, j in enumerate(chunk):
                n = len(encs[j].ids)
                ids[row, :n] = encs[j].ids
                mask[row, :n] = 1
            # One BLAS thread: on a busy 2-core host (the service shares it with the web
            # app, the scheduler and the database) threaded GEMMs ran 2.6x slower for
            # abstracts and 20x slower for short profile texts than a single thread.
            with self._threads.limit(limits=1, user_api="blas"):
                out[chunk] = self._forward(ids, mask)
            if on_progress is not None:
                done += len(chunk)
                on_progress(done, len(texts))
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        unit: np.ndarray = out / np.maximum(norms, 1e-12)  # Any in the stubs
        return unit.astype(np.float32)


def load_encoder() -> MiniLMEncoder | None:
    """The shipped int8 all-MiniLM-L6-v2 (cosine >= 0.999 to fp32, no measured nDCG loss)."""
    if INT8_WEIGHTS.exists() and TOKENIZER_FILE.exists():
        with np.load(INT8_WEIGHTS) as stored:
            weights = dequantize({k: stored[k] for k in stored.files})
        return MiniLMEncoder(weights, TOKENIZER_FILE, name="minilm-l6-v2-int8")
    return None

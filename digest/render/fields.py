"""Shaping untrusted feed fields for display: author lists, excerpts, word wrap (one-line
text and safe URLs come from ``digest.text``).

Everything here is pure and total: any str in, a displayable str (or None for a URL) out.
"""

from __future__ import annotations

import re
from functools import lru_cache

from digest.text import display_line, shorten

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")
def short_authors(authors: tuple[str, ...] | list[str], *, keep: int = 3) -> str:
    """``"A, B, C et al."`` for long lists; every name cleaned and capped."""
    names = [n for n in (display_line(a, limit=80) for a in authors) if n]
    if len(names) <= keep:
        return ", ".join(names)
    return ", ".join(names[:keep]) + " et al."


def excerpt(abstract: str, summary: str | None = None, *, limit: int = 420) -> str:
    """The source's own summary when it has one, else the first 2 to 3 sentences of the abstract."""
    chosen = display_line(summary) if summary else ""
    if chosen:
        return shorten(chosen, limit)
    text = display_line(abstract)
    if not text:
        return ""
    out = ""
    for count, sentence in enumerate(_SENTENCE_END.split(text), start=1):
        candidate = f"{out} {sentence}".strip()
        if len(candidate) > limit:
            return out or shorten(candidate, limit)
        out = candidate
        if count >= 3 or (count >= 2 and len(out) > limit // 2):
            break
    return out


@lru_cache(maxsize=8192)
def wrap(text: str, width: int = 72, indent: str = "") -> str:
    """Greedy word wrap for the plaintext twin; textwrap is several times slower per call, and
    the same excerpt is wrapped for every subscriber who gets that paper, hence the cache."""
    lines: list[str] = []
    line = ""
    room = width - len(indent)
    for word in text.split():
        if line and len(line) + 1 + len(word) > room:
            lines.append(indent + line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(indent + line)
    return "\n".join(lines)

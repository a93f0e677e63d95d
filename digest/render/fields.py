"""Shaping untrusted feed fields for display: clean text, safe URLs, authors, excerpts, wrap.

Everything here is pure and total: any str in, a displayable str (or None for a URL) out.
"""

from __future__ import annotations

import re
from functools import lru_cache

# C0/C1 controls (tab and newline included: display fields are single-line or re-wrapped),
# DEL, lone surrogates (unencodable as UTF-8), and bidi overrides that can disguise text.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")
_URL = re.compile(
    r"[Hh][Tt][Tt][Pp][Ss]?://"
    r"(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?"
    r"(?:[/?#][^\x00-\x20\x7f-\x9f\"'<>\\`\ud800-\udfff]*)?"
)


def clean_text(value: object, *, limit: int | None = None) -> str:
    """One line of plain text: controls become spaces, runs of space collapse, capped."""
    if value is None:
        return ""
    # str.split() and isprintable() are C loops: the regex only runs on the rare odd string.
    text = " ".join(str(value).split())
    if not text.isprintable():
        text = " ".join(_CONTROL.sub(" ", text).split())
    if limit is not None and len(text) > limit:
        return shorten(text, limit)
    return text


def shorten(text: str, limit: int) -> str:
    """Cut at a word boundary near ``limit`` and mark the cut with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-") + "…"


def safe_url(value: object) -> str | None:
    """The URL if it is absolute http(s) with a plain host and nothing that could break out of
    an attribute; else None. Feed links are untrusted: ``javascript:``, ``data:``, userinfo
    tricks (``https://bank@evil``) and friends die. One regex: this runs ~20 times a digest.
    """
    if not isinstance(value, str):
        return None
    url = value.strip()
    if len(url) > 2048 or _URL.fullmatch(url) is None:
        return None
    return url


def short_authors(authors: tuple[str, ...] | list[str], *, keep: int = 3) -> str:
    """``"A, B, C et al."`` for long lists; every name cleaned and capped."""
    names = [n for n in (clean_text(a, limit=80) for a in authors) if n]
    if len(names) <= keep:
        return ", ".join(names)
    return ", ".join(names[:keep]) + " et al."


def excerpt(abstract: str, summary: str | None = None, *, limit: int = 420) -> str:
    """The source's own summary when it has one, else the first 2 to 3 sentences of the abstract."""
    chosen = clean_text(summary) if summary else ""
    if chosen:
        return shorten(chosen, limit)
    text = clean_text(abstract)
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

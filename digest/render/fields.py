"""Shaping untrusted feed fields for display: author lists, excerpts, word wrap (one-line
text and safe URLs come from ``digest.text``).

Everything here is pure and total: any str in, a displayable str (or None for a URL) out.
"""

from __future__ import annotations

import re
from functools import lru_cache

from digest.text import display_line, shorten

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")
# What an abstract's sentences do, read from their wording (the usual moves of an abstract:
# background, then "we propose / we show", then results with numbers).
_WE = (r"\b(?:we|this (?:paper|work|study|note|article)|our (?:work|paper|method|approach|"
       r"framework|model|system|results?|experiments?|analysis))\b")
_MAKES = re.compile(_WE + r"[^.;]{0,60}?\b(?:propose|present|introduce|develop|design|build|"
                    r"release|refer to|call)|\b(?:is|are) (?:proposed|presented|introduced|developed)\b",
                    re.IGNORECASE)
_FINDS = re.compile(_WE + r"[^.;]{0,60}?\b(?:show|demonstrate|find|found|prove|establish|reveal|"
                    r"achieve|obtain|outperform|improve|reduce|confirm)", re.IGNORECASE)
_STUDIES = re.compile(_WE + r"[^.;]{0,60}?\b(?:study|investigate|analy[sz]e|examine|explore|"
                      r"identify|characteri[sz]e|consider|evaluate)", re.IGNORECASE)
_NUMBERS = re.compile(r"\d(?:\.\d+)?\s*(?:%|x\b|\u00d7|times\b|-?fold\b|points?\b|pp\b)|"
                      r"\b(?:AUC|F1|BLEU|accuracy)\s*(?:=|of)\s*\d", re.IGNORECASE)
_LINK = re.compile(r"https?://|github\.com|\bcode (?:is|and data are) (?:publicly )?available",
                   re.IGNORECASE)


def _says(sentence: str) -> int:
    """What a sentence says the paper did: 3 made, 2 found, 1 studied, 0 neither, -1 a link."""
    if _LINK.search(sentence):
        return -1
    return 3 if _MAKES.search(sentence) else 2 if _FINDS.search(sentence) else (
        1 if _STUDIES.search(sentence) else 0)


def short_authors(authors: tuple[str, ...] | list[str], *, keep: int = 3) -> str:
    """``"A, B, C et al."`` for long lists; every name cleaned and capped."""
    names = [n for n in (display_line(a, limit=80) for a in authors) if n]
    if len(names) <= keep:
        return ", ".join(names)
    return ", ".join(names[:keep]) + " et al."


def excerpt(abstract: str, summary: str | None = None, *, limit: int = 420) -> str:
    """What the paper contributes, in at most ``limit`` characters.

    The source's own summary when it has one (Hugging Face's); else the abstract's sentence
    that says what the paper makes or finds ("we propose", "we show"), joined by its best
    results sentence (numbers) when both fit, in the abstract's order. An abstract with no
    such sentence gives its first two sentences. Abstracts usually open with background
    ("Large Language Models have revolutionized..."), which says nothing about the paper.
    """
    chosen = display_line(summary) if summary else ""
    if chosen:
        return shorten(chosen, limit)
    text = display_line(abstract)
    if not text:
        return ""
    sentences = _SENTENCE_END.split(text)
    says = [_says(s) for s in sentences]
    numbers = [_NUMBERS.search(s) is not None and says[i] >= 0 for i, s in enumerate(sentences)]
    best = max(range(len(sentences)), key=lambda i: (says[i], -i))
    if says[best] <= 0:
        picked = [0, 1] if len(sentences) > 1 else [0]
    else:
        picked = [best]
        # The second sentence adds what the first lacks: measured results, else a finding.
        rest = [i for i in range(len(sentences)) if i != best and (says[i] > 0 or numbers[i])]
        rest.sort(key=lambda i: (not numbers[i], -says[i], i))
        for i in rest:
            if len(sentences[best]) + 1 + len(sentences[i]) <= limit:
                picked.append(i)
                break
    out = " ".join(sentences[i] for i in sorted(picked))
    return out if len(out) <= limit else shorten(sentences[picked[0]], limit)


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

"""Shaping untrusted feed fields for display: author lists, excerpts, word wrap (one-line
text and safe URLs come from ``digest.text``).

Everything here is pure and total: any str in, a displayable str (or None for a URL) out.
"""

from __future__ import annotations

import re
from functools import lru_cache

from digest.render.mathtext import typeset_math
from digest.text import display_line, shorten

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")
# Abbreviations whose period ends no sentence ("96.01% vs. 55.68%", "Fig. 2", "et al. 2020"):
# their periods are hidden from the splitter, then put back.
_ABBREVIATION = re.compile(r"\b(?:vs|e\.g|i\.e|et al|cf|Fig|Figs|Eq|Eqs|Sec|Ref|Refs|No|approx|"
                           r"resp|w\.r\.t|etc|Tab|Thm|Prop|Def|Corr|Lem)\.", re.IGNORECASE)
_HIDDEN = "\x00"
# Sentence-ending punctuation (a closing bracket or quote may follow): an excerpt that ends
# without it was cut short by the source (arXiv's RSS and some HF mirrors truncate), so it
# ends with an ellipsis rather than mid-phrase.
_ENDED = re.compile(r"[.!?…][\"')\]\u201d\u2019]*$")
# What an abstract's sentences do, read from their wording (the usual moves of an abstract:
# background, then "we propose / we show", then results with numbers).
_WE = (r"\b(?:we|this (?:paper|work|study|note|article)|our (?:work|paper|method|approach|"
       r"framework|model|system|results?|experiments?|analysis))\b")
# Up to 120 characters between the subject and its verb: "we model partially observable
# geometry as a continuous energy field induced by geometric evidence and propose EnerGS".
_MAKES = re.compile(_WE + r"[^.;]{0,120}?\b(?:propos(?:e|es|ing)|present(?:s|ing)?|"
                    r"introduc(?:e|es|ing)|develop(?:s|ing)?|design|build|release|refer to|call)\b"
                    r"|\b(?:is|are) (?:proposed|presented|introduced|developed)\b", re.IGNORECASE)
_FINDS = re.compile(_WE + r"[^.;]{0,120}?\b(?:show|demonstrate|find|found|prove|establish|reveal|"
                    r"achieve|obtain|outperform|improve|reduce|confirm)"
                    r"|\b(?:experiments|evaluations?|results)\b[^.;]{0,120}?\b(?:show|demonstrate|"
                    r"confirm|indicate)", re.IGNORECASE)
_STUDIES = re.compile(_WE + r"[^.;]{0,120}?\b(?:study|investigate|analy[sz]e|examine|explore|"
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
    chosen = typeset_math(display_line(summary)) if summary else ""
    if chosen:
        return _ended(shorten(chosen, limit))
    text = typeset_math(display_line(abstract))
    if not text:
        return ""
    hidden = _ABBREVIATION.sub(lambda m: m.group(0).replace(".", _HIDDEN), text)
    sentences = [s.replace(_HIDDEN, ".") for s in _SENTENCE_END.split(hidden)]
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
    return _ended(out if len(out) <= limit else shorten(sentences[picked[0]], limit))


def _ended(text: str) -> str:
    """``text``, with an ellipsis when it stops mid-sentence (see ``_ENDED``)."""
    return text if not text or _ENDED.search(text) else text.rstrip(" ,;:-") + "…"


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

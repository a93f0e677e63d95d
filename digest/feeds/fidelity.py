"""The last step of ingest, for every kind of feed: a paper's text as its authors wrote it.

Mojibake (UTF-8 once decoded as Windows-1252: "SchrÃ¶dinger") is repaired with ftfy, and an
arXiv paper's TeX accents and text macros become Unicode (``feeds.tex``), so the email, the
text twin and the ranker's word matching all see "Schrödinger", never ``Schr\\"odinger``.
"""

from __future__ import annotations

from dataclasses import replace

from digest.feeds.arxiv import arxiv_id_from
from digest.feeds.tex import tex_to_unicode
from digest.models import Paper
from digest.text import repair_mojibake


def _fix(text: str, *, tex: bool) -> tuple[str, bool]:
    """(faithful text, whether mojibake was repaired)."""
    out = repair_mojibake(text)
    repaired = out != text
    if tex:
        decoded = tex_to_unicode(out)
        if decoded != out:  # a newline (\\) or a tie (~, U+00A0) becomes one plain space
            out = " ".join(decoded.split())
    return out, repaired


def faithful(paper: Paper) -> tuple[Paper, bool]:
    """(the paper with repaired and decoded text, whether mojibake was repaired). TeX is
    decoded only for arXiv papers, whose metadata is TeX by arXiv's own convention; other
    feeds' backslashes are theirs."""
    tex = bool(paper.id) and arxiv_id_from(paper.id, bare_ok=True) == paper.id
    title, r1 = _fix(paper.title, tex=tex)
    abstract, r2 = _fix(paper.abstract, tex=tex)
    authors = [_fix(a, tex=tex) for a in paper.authors]
    summary, r3 = _fix(paper.summary, tex=tex) if paper.summary else (paper.summary, False)
    repaired = r1 or r2 or r3 or any(r for _, r in authors)
    fixed = replace(paper, title=title, abstract=abstract,
                    authors=tuple(a for a, _ in authors), summary=summary)
    return (paper if fixed == paper else fixed), repaired

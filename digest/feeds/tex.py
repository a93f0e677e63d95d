"""TeX in arXiv metadata, as the reader would see it typeset: accents, letters and the common
text macros become Unicode (pylatexenc decodes them); math and anything unknown stay as written.

arXiv asks for plain-text metadata but authors write TeX: ``J\\"org``, ``Fi\\v{s}er``,
``R\\'{e}nyi``, ``--``, ``~``, ``\\&`` (arXiv's own RSS spec shows a journal reference with
``l'\\'Ecole``: https://info.arxiv.org/help/rss_specifications.html). What pylatexenc would get
wrong in prose is never handed to it: ``$…$`` math (kept verbatim, delimiters included),
URLs (``~user``), macros it does not know or that format links (kept verbatim with their
braced argument), and the characters TeX reserves but prose uses (``50%``, ``R&D``, ``#1``).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from functools import lru_cache

from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db

# Math first ($$…$$ before $…$), then links written as macros, then bare URLs.
_VERBATIM = re.compile(
    r"\$\$.+?\$\$|\$(?:\\.|[^$\\])+?\$|\\\(.+?\\\)|\\\[.+?\\\]"
    r"|\\(?:url|href)\s*\{[^{}]*\}(?:\{[^{}]*\})?|https?://[^\s{}]+|www\.[^\s{}]+",
    re.DOTALL)
_MACRO = re.compile(r"\\([A-Za-z]+)\*?((?:\s*\{[^{}]*\})*)")
# Text that needs TeX decoding at all: a backslash, a tie, a dash pair, braces, TeX quotes.
_TEXISH = re.compile(r"[\\~{}]|--|``|''")
# TeX's reserved characters that prose uses literally; escaped before decoding.
_RESERVED = re.compile(r"(?<!\\)([%&#$])")
# Macros pylatexenc knows but that would turn a link or reference into something else.
_FONTS = ("textsf", "texttt", "textnormal", "textup", "textmd", "textsl")
_KEEP = frozenset({"url", "href", "cite", "citep", "citet", "ref", "eqref", "label",
                   "footnote", "includegraphics"})


class _UnlessDebugging(logging.Filter):
    """pylatexenc logs every parse error its tolerant mode skips, at INFO ("Ignoring parse
    error (tolerant parsing mode): ..."): 14 lines for the demo's 60 seed papers, none of
    which an operator can act on (the text is kept as written). Shown when the root logger
    is at DEBUG; warnings and errors always pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or logging.getLogger().isEnabledFor(logging.DEBUG)


logging.getLogger("pylatexenc.latexwalker").addFilter(_UnlessDebugging())


@lru_cache(maxsize=1)
def _converter() -> tuple[LatexNodes2Text, frozenset[str]]:
    db = get_default_latex_context_db()
    # Font switches pylatexenc lacks (it has \\textbf, \\textit, \\emph): the argument is the
    # text ("we introduce \\textsf{TS-Agent}", arXiv cs.AI, 2025-08-20).
    db.add_context_category("digest-fonts", prepend=True, macros=[
        MacroTextSpec(name, "%s") for name in _FONTS])
    known = frozenset(spec.macroname for spec in db.iter_macro_specs()) - _KEEP
    db.set_unknown_macro_spec(MacroTextSpec("", simplify_repl=lambda node: node.latex_verbatim()))
    return LatexNodes2Text(latex_context=db, math_mode="verbatim", keep_comments=True,
                           strict_latex_spaces=True), known


def _decode(prose: str) -> str:
    """One stretch of prose (no math, no URL) through pylatexenc, unknown macros kept."""
    if not _TEXISH.search(prose):
        return prose
    converter, known = _converter()
    out: list[str] = []
    last = 0
    for match in _MACRO.finditer(prose):
        if match.group(1) in known:
            continue
        out.append(_decode_known(converter, prose[last:match.start()]))
        out.append(match.group(0))  # \foo{arg}: not ours to interpret
        last = match.end()
    out.append(_decode_known(converter, prose[last:]))
    return "".join(out)


def _decode_known(converter: LatexNodes2Text, prose: str) -> str:
    if not _TEXISH.search(prose):
        return prose
    try:
        text = converter.latex_to_text(_RESERVED.sub(r"\\\1", prose))
    except Exception:  # pylatexenc is tolerant, but a metadata quirk must never lose a paper
        return prose
    return unicodedata.normalize("NFC", text)


def tex_to_unicode(text: str) -> str:
    """``text`` with TeX accents and text macros decoded; math, URLs and unknown macros
    exactly as written. Whitespace is not collapsed here (the caller does that)."""
    if not text or not _TEXISH.search(text):
        return text
    out: list[str] = []
    last = 0
    for match in _VERBATIM.finditer(text):
        out.append(_decode(text[last:match.start()]))
        out.append(match.group(0))
        last = match.end()
    out.append(_decode(text[last:]))
    return "".join(out)

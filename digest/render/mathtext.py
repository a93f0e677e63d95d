"""TeX math in titles and abstracts, typeset as Unicode text for an email: ``$\\tilde{O}(
\\varepsilon^{-2})$`` reads "Õ(ε^-2)". Mail clients run no MathJax, and the stored text keeps
the math as the authors wrote it (``digest.feeds.tex``); this is display only.

pylatexenc does the typesetting. A segment it cannot fully read (an unknown macro) is shown as
written, delimiters included, so nothing is silently dropped. Dollar signs open math only as
pandoc's ``tex_math_dollars`` has it: the opening ``$`` is followed by a non-space, the closing
one preceded by a non-space and not followed by a digit, so "price $5 and $10" stays prose.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported when math first shows up: the service's parent stays light
    from pylatexenc.latex2text import LatexNodes2Text

_MATH = re.compile(
    r"\$\$(?P<display>.+?)\$\$"
    r"|(?<![\\$])\$(?!\s)(?P<inline>(?:\\.|[^$\\])+?)(?<![\s\\])\$(?!\d)"
    r"|\\\((?P<paren>.+?)\\\)|\\\[(?P<bracket>.+?)\\\]",
    re.DOTALL,
)
_PERCENT = re.compile(r"(?<!\\)%")  # a comment in TeX; a percent sign in an abstract
_UNKNOWN = "\x00"  # marks an unknown macro in pylatexenc's output: the segment stays as written
_WS = re.compile(r"\s+")
_SIZING = ("left", "right", "middle", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr",
           "biggl", "biggr", "Biggl", "Biggr", "displaystyle", "textstyle", "scriptstyle")
# TeX swallows the space after a control word ("k \leq n" prints "k ≤n" in pylatexenc too);
# an empty group after an argument-less macro keeps the space the author typed.
_SPACED_MACRO = re.compile(r"\\([A-Za-z]+)(?=\s)")


@lru_cache(maxsize=1)
def _converter() -> LatexNodes2Text:
    from pylatexenc.latex2text import (
        LatexNodes2Text,
        MacroTextSpec,
        get_default_latex_context_db,
    )

    db = get_default_latex_context_db()
    # Delimiter sizing prints nothing itself: "\\left( x \\right)" reads "( x )".
    db.add_context_category("digest-sizing", prepend=True, macros=[
        MacroTextSpec(name, "") for name in _SIZING])
    db.set_unknown_macro_spec(MacroTextSpec("", simplify_repl=lambda node: _UNKNOWN))
    return LatexNodes2Text(latex_context=db, math_mode="text")


@lru_cache(maxsize=1)
def _walker_macros() -> object:
    from pylatexenc.latexwalker import get_default_latex_context_db

    return get_default_latex_context_db()


@lru_cache(maxsize=1024)
def _takes_arguments(macro: str) -> bool:
    spec = _walker_macros().get_macro_spec(macro)  # type: ignore[attr-defined]
    return spec is not None and bool(spec.args_parser.argspec)


def _keep_space(match: re.Match[str]) -> str:
    return match.group(0) if _takes_arguments(match.group(1)) else match.group(0) + "{}"


def _typeset(match: re.Match[str]) -> str:
    tex = next(g for g in match.groups() if g is not None)
    tex = _SPACED_MACRO.sub(_keep_space, _PERCENT.sub(r"\\%", tex))
    try:
        text = _converter().latex_to_text(tex)
    except Exception:  # pylatexenc is tolerant; a quirk must never lose the text
        return match.group(0)
    text = _WS.sub(" ", unicodedata.normalize("NFC", text)).strip()
    if not text or _UNKNOWN in text or "\\" in text:
        return match.group(0)
    return text


@lru_cache(maxsize=8192)
def typeset_math(text: str) -> str:
    """``text`` with each TeX math segment (``$…$``, ``$$…$$``, ``\\(…\\)``, ``\\[…\\]``)
    replaced by its Unicode reading; prose and unreadable segments as given. Cached: every
    subscriber who gets a paper shows the same title and excerpt."""
    if "$" not in text and "\\(" not in text and "\\[" not in text:
        return text
    return _MATH.sub(_typeset, text)

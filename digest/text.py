"""The rules for outside text digest keeps and shows, named by their contract.

What a feed says is stored as plain text, by what the feed says the field *is*:

- ``plain_text``: a text-typed field (Atom ``type="text"``, arXiv's RSS and API titles and
  abstracts, JSON strings): character references decoded, invisible characters dropped,
  whitespace collapsed, and nothing else. ``<think>``, ``k<n`` and ``a < b`` are text and
  stay; the renderer escapes them for HTML.
- ``markup_to_text``: an HTML-typed field: markup removed with its scripts (nh3), then as
  ``plain_text``. Only here can a ``<letter…>`` be a tag.
- ``repair_mojibake``: UTF-8 text that was decoded as Windows-1252 put back (ftfy).
- ``display_line``: any value as one line of displayable text, optionally capped.
- ``http_url``: a link, only if it is absolute http(s) that cannot break out of an attribute.

What a reader types (interests) is kept as text too:

- ``clean_interests``: escape sequences, markup and control characters from a paste removed.
- ``references``: the arXiv papers a text links to, and the text without links.
- ``names_something``: whether a text holds a word or a paper at all ("???" does not).

Pure and total: any value in, a str (or None for a rejected URL) out.
"""

from __future__ import annotations

import html
import re

import ftfy
import nh3

_WS = re.compile(r"\s+")
# Markup is a complete tag or comment: "a<b" or "p < 0.05" in plain text is not.
_MARKUP = re.compile(r"<(?:[a-zA-Z][^<>]*|/[a-zA-Z][^<>]*|!--.*?--)>", re.DOTALL)
_BLOCK_TAGS = re.compile(r"</?(?:p|br|div|li|tr|h[1-6])\b[^>]*>", re.IGNORECASE)
# Control (Cc), format (Cf: bidi overrides, zero-width), surrogate and private-use chars;
# tab/newline/CR survive here and become spaces below.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f"
    "\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\ud800-\udfff\ue000-\uf8ff]"
)
# C0/C1 controls (tab and newline included: display fields are single-line or re-wrapped),
# DEL, lone surrogates (unencodable as UTF-8), and bidi overrides that can disguise text.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_URL = re.compile(
    r"[Hh][Tt][Tt][Pp][Ss]?://"
    r"(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?"
    r"(?:[/?#][^\x00-\x20\x7f-\x9f\"'<>\\`\ud800-\udfff]*)?"
)



# A complete character reference: "&amp;", "&#60;", "&#x3C;". HTML's legacy forms without the
# semicolon ("&copy", "&lt") are prose in a text field ("R&D&copy" is not "R&D©").
_REFERENCE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
# Elements HTML parses as raw text (an iframe's fallback, noscript): unwrapped first, so what
# they hold is read as markup like the rest (as feedparser's sanitizer did), not kept as tags.
_RAW_TEXT_TAGS = re.compile(r"</?(?:iframe|noembed|noframes|noscript|xmp)\b[^>]*>", re.IGNORECASE)


# Terminal escape sequences (ECMA-48 CSI and OSC, and two-character escapes): pasted from a
# coloured terminal, their letters ("[31m") would otherwise read as words.
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
# A paper named by arXiv link or id ("https://arxiv.org/abs/2301.13615v2", "arXiv:2301.13615",
# "2301.13615"): a seed paper, not words. Other links are no topic either.
_ARXIV_REF = re.compile(r"(?:(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/|\barXiv:\s*)?"
                        r"(?<![\d.])(\d{4}\.\d{4,5})(?:v\d+)?(?:\.pdf)?(?![\d.]*\d)", re.IGNORECASE)
_LINK = re.compile(r"(?:https?://|www\.)[^\s()\[\]]+", re.IGNORECASE)
_EMPTY_BRACKETS = re.compile(r"\(\s*\)|\[\s*\]")


def _unescape(match: re.Match[str]) -> str:
    return html.unescape(match.group(0))


def plain_text(raw: object) -> str:
    """A text-typed value as stored text: character references decoded, control and format
    characters removed, whitespace collapsed. Never removes anything between ``<`` and ``>``."""
    if raw is None or raw == "":
        return ""
    text = str(raw)
    if "&" in text:
        text = _REFERENCE.sub(_unescape, text)
    return _WS.sub(" ", _INVISIBLE.sub("", text)).strip()


def markup_to_text(raw: object) -> str:
    """An HTML-typed value as stored text: markup stripped (nh3, so scripts and styles vanish
    with their content), then as ``plain_text``. Text that holds no complete tag is not
    parsed as HTML, so "a<b" or "p < 0.05" survive here too."""
    if raw is None or raw == "":
        return ""
    text = str(raw)
    if "<" in text and _MARKUP.search(text):
        # Block tags become spaces so "<p>a</p><p>b</p>" does not read "ab".
        text = nh3.clean(_RAW_TEXT_TAGS.sub(" ", _BLOCK_TAGS.sub(" ", text)), tags=set())
        text = html.unescape(text)  # nh3 writes text back HTML-escaped, all of it
    elif "&" in text:
        text = html.unescape(text)  # HTML's own rules, legacy references included
    return _WS.sub(" ", _INVISIBLE.sub("", text)).strip()


def repair_mojibake(text: str) -> str:
    """``text`` with UTF-8 that was once decoded as Windows-1252 or Latin-1 put back
    ("SchrÃ¶dinger" → "Schrödinger"), by ftfy's encoding fixes only: quotes, widths and
    ligatures stay as written. ASCII text cannot be mojibake and costs nothing."""
    if text.isascii():
        return text
    return ftfy.fix_encoding(text)


def display_line(value: object, *, limit: int | None = None) -> str:
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


def http_url(value: object) -> str | None:
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


def clean_interests(text: str | None) -> str:
    """What a reader typed, as text: terminal escape sequences, markup (nh3: a script goes
    with its content), control and bidi characters and undecodable bytes (PEP 383 lone
    surrogates from a non-UTF-8 command line) removed; line breaks kept, other runs of space
    made one. "p < 0.05" is not markup and stays (:func:`digest.text.markup_to_text`)."""
    lines = _ANSI.sub("", text or "").splitlines()
    return "\n".join(c for c in (markup_to_text(line) for line in lines) if c)


def references(text: str | None) -> tuple[tuple[str, ...], str]:
    """(the arXiv ids ``text`` names, in order; ``text`` without them and without links).

    A reader who pastes a paper's link means "papers like this one" (its id becomes a seed
    paper, :func:`digest.rank.profile.parse_profile`); "https", "arxiv.org" and "abs" are
    not interests.
    """
    ids = tuple(dict.fromkeys(m.group(1) for m in _ARXIV_REF.finditer(text or "")))
    rest = _EMPTY_BRACKETS.sub(" ", _LINK.sub(" ", _ARXIV_REF.sub(" ", text or "")))
    return ids, "\n".join(" ".join(line.split()) for line in rest.splitlines() if line.strip())


def names_something(text: str | None) -> bool:
    """True when ``text`` holds a word (a letter or digit) or an arXiv reference: what a
    profile needs before anything can rank for it. Stop words are the ranker's business
    (``digest.rank.interests.has_topic``); this stays light for the web process."""
    ids, rest = references(clean_interests(text))
    return bool(ids) or any(c.isalnum() for c in rest)

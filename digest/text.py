"""The one pair of rules for outside text digest keeps and shows, named by their contract.

- ``markup_to_text``: what a feed says, as plain text for the store (markup removed with its
  scripts, entities decoded, invisible characters dropped, whitespace collapsed).
- ``display_line``: any value as one line of displayable text, optionally capped.
- ``http_url``: a link, only if it is absolute http(s) that cannot break out of an attribute.

Pure and total: any value in, a str (or None for a rejected URL) out.
"""

from __future__ import annotations

import html
import re

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



def markup_to_text(raw: str | None) -> str:
    """Markup stripped (nh3, so scripts and styles vanish with their content), entities
    decoded, control and format characters removed, whitespace collapsed."""
    if not raw:
        return ""
    text = str(raw)
    if "<" in text and _MARKUP.search(text):
        # Block tags become spaces so "<p>a</p><p>b</p>" does not read "ab".
        text = nh3.clean(_BLOCK_TAGS.sub(" ", text), tags=set())
    text = _INVISIBLE.sub("", html.unescape(text))
    return _WS.sub(" ", text).strip()


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

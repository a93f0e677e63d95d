"""Bytes to text when both sides said UTF-8: a bad byte becomes U+FFFD, the rest stays UTF-8.

feedparser, given a document declared UTF-8 (in HTTP and in its XML declaration) that holds
one invalid byte, decodes the whole document as Windows-1252 instead: every "ö" becomes
"Ã¶". When the transport and the document agree on UTF-8, that agreement wins: the bytes
are decoded as UTF-8 with replacement characters and handed on as valid UTF-8.
"""

from __future__ import annotations

import re

_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_REPLACEMENT = "\ufffd".encode()


def _is_utf8(name: str | None) -> bool:
    return bool(name) and str(name).lower().replace("_", "-") in ("utf-8", "utf8")


def transport_charset(content_type: str | None) -> str | None:
    """The ``charset`` parameter of a Content-Type header, if any."""
    match = _CHARSET.search(content_type or "")
    return match.group(1) if match else None


def document_charset(data: bytes) -> str | None:
    """What the document says of itself: a UTF-8 byte order mark or the XML declaration's
    ``encoding``; None when it says nothing (UTF-16/32 marks are not UTF-8 and say so)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8"
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or data[:1] == b"\x00" or data[1:2] == b"\x00":
        return "utf-16/32"
    match = _XML_DECL.match(data[:512])
    return match.group(1).decode("ascii") if match else None


def agreed_utf8(data: bytes, content_type: str | None) -> bool:
    """Both sides that spoke said UTF-8: the document (or, silent, the transport) declares it
    and the transport does not contradict it."""
    doc, transport = document_charset(data), transport_charset(content_type)
    if _is_utf8(doc):
        return transport is None or _is_utf8(transport)
    return doc is None and _is_utf8(transport)


def as_declared_utf8(data: bytes, content_type: str | None) -> tuple[bytes, int]:
    """(``data``, 0) unless it was declared UTF-8 and is not valid UTF-8; then (the same
    document with each invalid sequence replaced by U+FFFD, how many were replaced)."""
    if not agreed_utf8(data, content_type):
        return data, 0
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("utf-8", "replace")
        replaced = text.count("\ufffd") - data.count(_REPLACEMENT)
        return text.encode("utf-8"), replaced
    return data, 0

"""Compose: a rendered email becomes a multipart/alternative MIME message ready for SMTP.

Headers are encoded and folded here once (RFC 2047 for non-ASCII) and stored pre-folded, so
the stdlib neither re-parses nor re-folds them per message; the constant MIME headers are
built once per process and their parsed form is shared. Controls never reach a header line.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from datetime import datetime
from email.message import EmailMessage, MIMEPart
from email.policy import EmailPolicy
from email.utils import format_datetime
from functools import lru_cache
from typing import Any

from digest.addresses import normalize_address, wire_address
from digest.errors import AddressError, RenderError
from digest.render.types import RenderedEmail
from digest.text import display_line, http_url

_MAX_LINE = 76
_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
_ATOMS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]+")
_MAILTO = re.compile(r"mailto:[\x21-\x7e]+")
_ID_TEXT = re.compile(r"[^A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+")
# QP bodies can never contain "=_", and a 7bit body is only used when it does not contain
# the boundary, so a constant boundary cannot collide.
BOUNDARY = "=_digest_alternative_7c1f"


class _Prefolded(str):
    """A header value already encoded and folded by this module; parsed lazily, once."""

    parsed: Any = None


class _ComposePolicy(EmailPolicy):
    """EmailPolicy that stores our pre-folded values verbatim and caches their parse.

    Values set by anyone else (a plain str) take the normal, validating path.
    """

    def header_store_parse(self, name: str, value: Any) -> tuple[str, Any]:
        if type(value) is _Prefolded:
            return (name, value)
        return super().header_store_parse(name, value)

    def header_max_count(self, name: str) -> int | None:
        # The stock lookup builds a new header class on every call (~10 per message).
        return _max_count(name.lower())

    def header_fetch_parse(self, name: str, value: Any) -> Any:
        if type(value) is _Prefolded:
            if value.parsed is None:
                value.parsed = super().header_fetch_parse(name, value)
            return value.parsed
        return super().header_fetch_parse(name, value)


@lru_cache(maxsize=256)
def _max_count(name: str) -> int | None:
    return EmailPolicy.header_max_count(POLICY, name)


# SMTP wants CRLF; .as_bytes() is what goes on the wire. max_line_length is the hard limit
# (RFC 5322: 998): our own values are folded at 76 where they can be, and an unbreakable
# token (a long URL, a quoted name without spaces) must not make the stdlib refold them; its
# refolding mangles long quoted display names and may RFC 2047-encode a URL.
POLICY = _ComposePolicy(linesep="\r\n", max_line_length=998)
POLICY_UTF8 = POLICY.clone(utf8=True)  # for internationalized addresses (RFC 6531/6532)
_TEXT_TYPE = _Prefolded('text/plain; charset="utf-8"')
_HTML_TYPE = _Prefolded('text/html; charset="utf-8"')
_QP = _Prefolded("quoted-printable")
_7BIT = _Prefolded("7bit")
_MAX_BODY_LINE = 990  # RFC 5321: 998 octets + CRLF; keep a margin
_ALT_TYPE = _Prefolded(f'multipart/alternative; boundary="{BOUNDARY}"')
_MIME_VERSION = _Prefolded("1.0")
_ONE_CLICK = _Prefolded("List-Unsubscribe=One-Click")


def _encoded_words(text: str, first_room: int) -> list[str]:
    """RFC 2047 base64 words, split on character boundaries, each fitting its line."""
    words: list[str] = []
    chunk = b""
    room = first_room
    for ch in text:
        data = ch.encode("utf-8")
        # 12 = len("=?utf-8?b?") + len("?="); base64 grows 3 bytes into 4 chars.
        if chunk and 12 + (len(chunk) + len(data) + 2) // 3 * 4 > room:
            words.append(f"=?utf-8?b?{base64.b64encode(chunk).decode()}?=")
            chunk, room = b"", _MAX_LINE - 1
        chunk += data
    if chunk or not words:
        words.append(f"=?utf-8?b?{base64.b64encode(chunk).decode()}?=")
    return words


def _fold(name: str, tokens: list[str]) -> _Prefolded:
    """Join tokens with spaces, breaking lines (CRLF+space on the wire) before 76 columns."""
    lines: list[str] = []
    line = ""
    width = len(name) + 2
    for token in tokens:
        if line and width + len(line) + 1 + len(token) > _MAX_LINE:
            lines.append(line)
            line, width = token, 1
        else:
            line = f"{line} {token}" if line else token
    lines.append(line)
    return _Prefolded("\n ".join(lines))


def encode_text(name: str, value: str) -> _Prefolded:
    """An unstructured header (Subject): cleaned, encoded only when it is not ASCII."""
    text = display_line(value, limit=250)
    if text.isascii():
        return _fold(name, text.split(" ") if text else [""])
    return _fold(name, _encoded_words(text, _MAX_LINE - len(name) - 2))


def _valid_utf8_address(addr: str) -> bool:
    """Valid and already normalized: subscribers are stored normalized, so anything else
    was never checked and must not reach a header."""
    try:
        return normalize_address(addr) == addr and len(addr.encode("utf-8")) <= 254
    except AddressError:
        return False


def encode_address(name: str, display: str, addr: str) -> _Prefolded:
    """``Display Name <addr>`` with the name quoted or RFC 2047-encoded as it needs.

    ``addr`` is the wire form (IDNA domain, see addresses.wire_address). An address with a
    non-ASCII local part (``josé@example.org``) is written as raw UTF-8: RFC 6532, so the
    message needs :data:`POLICY_UTF8` and a server that offers SMTPUTF8.
    """
    if addr.isascii():
        if not _ADDRESS.fullmatch(addr) or len(addr) > 254:
            raise AddressError(f"{name}: not a plain ASCII address: {addr[:80]!r}")
    elif not _valid_utf8_address(addr):
        raise AddressError(f"{name}: not a valid address: {addr[:80]!r}")
    phrase = display_line(display, limit=120)
    if not phrase:
        return _Prefolded(addr)
    if not phrase.isascii():
        words = _encoded_words(phrase, _MAX_LINE - len(name) - 2)
    elif _ATOMS.fullmatch(phrase):
        words = phrase.split(" ")
    else:
        words = ['"' + phrase.replace("\\", "\\\\").replace('"', '\\"') + '"']
    return _fold(name, [*words, f"<{addr}>"])


def make_message_id(edition_key: str, subscriber_id: int, domain: str) -> str:
    """``<hash.edition@domain>``: the same (edition, subscriber) always gets the same id, so
    a resend after a crash is recognisably the same message."""
    if not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?", domain):
        raise AddressError(f"Message-ID domain is not a hostname: {domain[:80]!r}")
    digest = hashlib.sha256(f"{edition_key}\0{subscriber_id}".encode()).hexdigest()[:24]
    label = _ID_TEXT.sub("-", edition_key).strip(".-")[:40] or "edition"
    return f"<{digest}.{label}.{subscriber_id}@{domain}>"


class DigestMessage(EmailMessage):
    """An EmailMessage that remembers the wire form of the bodies it was built with.

    ``as_bytes()`` is what the sender calls; the stdlib generator writes a body one line at a
    time (two calls per line, ~1,000 lines a digest). While headers and parts are untouched
    since compose, the bytes come from the kept body instead: a test proves them identical to
    the generator's. Any change, another policy or a unixfrom line takes the stdlib path.
    """

    _wire: tuple[list[Any], list[Any], list[tuple[list[Any], Any]], bytes] | None = None

    def _unchanged(self) -> bool:
        wire = self._wire
        return (
            wire is not None
            and list(self.raw_items()) == wire[0]
            and self.get_payload() == wire[1]
            and all(
                list(part.raw_items()) == heads and part.get_payload() is payload
                for part, (heads, payload) in zip(wire[1], wire[2], strict=True)
            )
        )

    def as_bytes(self, unixfrom: bool = False, policy: Any = None) -> bytes:
        if unixfrom or (policy is not None and policy is not self.policy) or not self._unchanged():
            return super().as_bytes(unixfrom, policy)
        assert self._wire is not None
        fold = self.policy.fold_binary
        return b"".join([*(fold(k, v) for k, v in self.raw_items()), self._wire[3]])

    def __bytes__(self) -> bytes:
        return self.as_bytes()


def _part(content_type: _Prefolded, body: str) -> tuple[MIMEPart, bytes]:
    part = MIMEPart(POLICY)
    part["Content-Type"] = content_type
    body = body.replace("\r\n", "\n").replace("\r", "\n") if "\r" in body else body
    if (
        body.isascii()
        and "\0" not in body
        and BOUNDARY not in body  # feed or form text could try to open a MIME part
        and max(map(len, body.split("\n"))) <= _MAX_BODY_LINE
    ):
        # The renderer's HTML is ASCII with short lines: it can travel as it is.
        part["Content-Transfer-Encoding"] = _7BIT
        part.set_payload(body)
        encoded = body.encode("ascii")
    else:
        # b2a_qp is C: the stdlib's content manager would QP-encode in pure Python, twice.
        part["Content-Transfer-Encoding"] = _QP
        data = body.encode("utf-8", "replace")
        encoded = binascii.b2a_qp(data, quotetabs=False, istext=True)
        part.set_payload(encoded.decode("ascii"))
    head = b"".join(POLICY.fold_binary(k, v) for k, v in part.raw_items())
    return part, head + b"\r\n" + encoded.replace(b"\n", b"\r\n")


def compose_message(
    rendered: RenderedEmail,
    *,
    to_addr: str,
    to_name: str,
    from_addr: str,
    from_name: str,
    message_id: str,
    date: datetime,
    list_id: str,
    unsubscribe_url: str,
    unsubscribe_mailto: str | None,
) -> EmailMessage:
    """Build the message: text part first (least preferred), then HTML, per RFC 2046."""
    if date.tzinfo is None:
        raise RenderError("compose: date must be timezone-aware")
    if not re.fullmatch(r"<[\x21-\x3b\x3d\x3f-\x7e]+@[A-Za-z0-9.-]+>", message_id):
        raise RenderError(f"compose: malformed Message-ID {message_id[:80]!r}")
    https = http_url(unsubscribe_url)
    if https is None or len(https) > 900:
        raise RenderError("compose: unsubscribe URL must be an http(s) URL")
    targets = [f"<{https}>,"]
    if unsubscribe_mailto:
        if not _MAILTO.fullmatch(unsubscribe_mailto) or len(unsubscribe_mailto) > 900:
            raise RenderError("compose: unsubscribe mailto must be a plain mailto: URL")
        targets.append(f"<{unsubscribe_mailto}>")
    targets[-1] = targets[-1].rstrip(",")
    list_text = display_line(list_id, limit=200)
    if "<" not in list_text:
        list_text = f"<{list_text}>"
    if not re.fullmatch(r"[^<>]*<[A-Za-z0-9.-]+>", list_text):
        raise RenderError(f"compose: malformed List-Id {list_id[:80]!r}")

    # Domains travel as IDNA A-labels, so only a non-ASCII local part makes the message
    # need RFC 6532 UTF-8 headers (and the relay SMTPUTF8).
    to_addr, from_addr = wire_address(to_addr), wire_address(from_addr)
    msg = DigestMessage(POLICY if to_addr.isascii() and from_addr.isascii() else POLICY_UTF8)
    msg["From"] = encode_address("From", from_name, from_addr)
    msg["To"] = encode_address("To", to_name, to_addr)
    msg["Subject"] = encode_text("Subject", rendered.subject)
    msg["Date"] = _Prefolded(format_datetime(date))
    msg["Message-ID"] = _Prefolded(message_id)
    msg["List-Id"] = _fold("List-Id", list_text.split(" "))
    msg["List-Unsubscribe"] = _fold("List-Unsubscribe", targets)
    msg["List-Unsubscribe-Post"] = _ONE_CLICK
    msg["MIME-Version"] = _MIME_VERSION
    msg["Content-Type"] = _ALT_TYPE
    text, text_wire = _part(_TEXT_TYPE, rendered.text)
    html, html_wire = _part(_HTML_TYPE, rendered.html)
    msg.set_payload([text, html])
    delimiter = b"\r\n--" + BOUNDARY.encode() + b"\r\n"
    body = b"".join(
        [b"\r\n--", BOUNDARY.encode(), b"\r\n", text_wire, delimiter, html_wire,
         b"\r\n--", BOUNDARY.encode(), b"--\r\n"]
    )
    msg._wire = (
        list(msg.raw_items()),
        [text, html],
        [(list(p.raw_items()), p.get_payload()) for p in (text, html)],
        body,
    )
    return msg

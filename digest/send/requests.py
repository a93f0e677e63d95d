"""What a person asks for by mail: ``subscribe`` (interests in the body), ``unsubscribe
<token>`` (the List-Unsubscribe mailto, RFC 2369 / RFC 8058's mail twin) or ``help``.

The command is the subject's first word, or the body's first non-empty line (mail clients
that drop a mailto's subject into the body, readers who type it there). Clients that fail
to decode the mailto URL leave the subject's space as ``%20`` or ``+``; clients that send
HTML only have the request in the HTML body. Who may answer is not decided here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses
from typing import Literal
from urllib.parse import unquote_plus

from digest.send.returns import body_text

Command = Literal["subscribe", "unsubscribe", "help"]
# itsdangerous URL-safe tokens: base64url, dots between the parts.
_UNSUBSCRIBE = re.compile(
    r"\bunsubscribe(?:\s+|%20|\+)+([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+){2,})", re.IGNORECASE)
_COMMAND = re.compile(r"^\s*(subscribe|unsubscribe|help)\b[\s:.!]*(.*)$", re.IGNORECASE)
_FIRST_LINES = 20
MAX_INTERESTS = 2000


@dataclass(frozen=True, slots=True)
class Request:
    """A command, the unsubscribe token it carries, and the interests a subscribe gives."""

    command: Command
    token: str | None = None
    interests: str = ""


def _lines(text: str) -> list[str]:
    """Body lines a person wrote: quoted replies (``>``) and the signature (``-- ``) left
    out."""
    out = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if line.rstrip() == "--":
            break
        if not line.lstrip().startswith(">"):
            out.append(line.strip())
    return out


def unsubscribe_token(message: Message) -> str | None:
    """The token of an ``unsubscribe <token>`` request in the subject (its space perhaps
    left as %20 or +) or in the first lines of the body, plain or HTML."""
    subject = str(message.get("Subject", ""))
    for text in (subject, unquote_plus(subject)):
        found = _UNSUBSCRIBE.search(text)
        if found:
            return found.group(1)
    body = "\n".join(line for line in _lines(body_text(message)) if line)
    found = _UNSUBSCRIBE.search("\n".join(body.split("\n")[:_FIRST_LINES]))
    return found.group(1) if found else None


def read_request(message: Message) -> Request | None:
    """The request this mail makes, or None when it makes none digest understands."""
    token = unsubscribe_token(message)
    if token is not None:
        return Request("unsubscribe", token)
    subject = unquote_plus(str(message.get("Subject", "")).strip())
    subject = re.sub(r"^(?:(?:re|fwd?|aw|sv)\s*:\s*)+", "", subject, flags=re.IGNORECASE)
    lines = _lines(body_text(message))
    found = _COMMAND.match(subject)
    if found is not None:
        rest = " ".join(lines) or found.group(2)
    else:
        first = next((i for i, line in enumerate(lines) if line), None)
        found = _COMMAND.match(lines[first]) if first is not None else None
        if found is None or first is None:
            return None
        rest = " ".join([found.group(2), *lines[first + 1:]])
    command = found.group(1).lower()
    if command == "unsubscribe":
        return None  # without a token: nothing proves the sender owns the address
    if command == "help":
        return Request("help")
    return Request("subscribe", interests=" ".join(rest.split())[:MAX_INTERESTS])


def from_address(message: Message) -> str | None:
    """The single address in From (where a person's request is answered), else None."""
    pairs = getaddresses([str(message.get("From", ""))])
    addresses = [addr for _, addr in pairs if addr and "@" in addr]
    return addresses[0] if len(addresses) == 1 else None


def envelope_addresses(message: Message) -> list[str]:
    """The addresses this mail was delivered to, as the receiving MTA wrote them
    (``Delivered-To``: Postfix local, ``X-Original-To``, ``Envelope-To``: Exim), then its
    ``To``: a bounce is addressed to the envelope sender it returns to."""
    values: list[str] = []
    for name in ("Delivered-To", "X-Original-To", "Envelope-To", "To"):
        values.extend(str(v) for v in message.get_all(name, []))
    return [addr for _, addr in getaddresses(values) if addr]
